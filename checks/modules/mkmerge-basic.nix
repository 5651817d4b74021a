# mkMerge of sections, some conditional
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { config = lib.mkMerge [ { ex.required = "r"; } { ex.tags = [ "m1" ]; } (lib.mkIf true { ex.tags = [ "m2" ]; }) (lib.mkIf false { ex.tags = [ "m3" ]; }) ]; } ]).ex.tags
