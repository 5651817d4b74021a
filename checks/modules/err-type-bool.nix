# bool
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { _file = "inline-bool.nix"; ex.required = "r"; ex.enable = "yes"; } ]).ex.enable
