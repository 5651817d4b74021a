# a module with config and options sections
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { config.ex.required = "r"; options.extra = mkOption { default = 1; }; } ]).extra
