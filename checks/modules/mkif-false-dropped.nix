# mkIf false removes a definition
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { ex.required = "r"; ex.tags = lib.mkIf false [ "no" ]; } { ex.tags = [ "yes" ]; } ]).ex.tags
