# mkIf around a whole config section is pushed down
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix ({ config, ... }: { config = lib.mkIf config.ex.enable { ex.count = 10; ex.name = "enabled"; }; }) { ex.enable = true; ex.required = "r"; } ]).ex
