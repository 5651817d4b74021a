# reading an option without a value
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix ]).ex.required
