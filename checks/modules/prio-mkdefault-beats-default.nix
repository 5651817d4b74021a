# mkDefault (1000) beats the option default (1500)
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { ex.required = "r"; ex.count = lib.mkDefault 4; } ]).ex.count
