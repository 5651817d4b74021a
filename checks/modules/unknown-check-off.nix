# _module.check = false allows undeclared definitions
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix ./mods/def-typo.nix { ex.required = "r"; _module.check = false; } ]).ex.name
