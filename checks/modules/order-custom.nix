# mkOrder with explicit priorities
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { ex.required = "r"; ex.tags = lib.mkOrder 2000 [ "z" ]; } { ex.tags = lib.mkOrder 10 [ "a" ]; } ]).ex.tags
