# a plain definition (100) beats mkDefault (1000)
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { ex.required = "r"; ex.count = lib.mkDefault 2; } { ex.count = 3; } ]).ex.count
