# _file names a module's definitions
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [ ./mods/decl-basic.nix { _file = "virtual.nix"; ex.required = "r"; ex.count = 4; } ]; }).options.ex.count.files
