# mkIf depending on config does not recurse
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix ({ config, ... }: { ex.required = "r"; ex.enable = true; ex.name = lib.mkIf config.ex.enable "on"; }) ]).ex.name
