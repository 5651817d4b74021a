# equal booleans merge
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { ex.required = "r"; ex.enable = true; } { ex.enable = true; } ]).ex.enable
