# enum
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { _file = "inline-enum.nix"; ex.required = "r"; ex.mode = "c"; } ]).ex.mode
