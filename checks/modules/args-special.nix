# specialArgs reach module functions
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [ ./mods/decl-basic.nix ./mods/needs-arg.nix { ex.required = "r"; } ]; specialArgs.site = { name = "from-special"; }; }).config.ex.name
