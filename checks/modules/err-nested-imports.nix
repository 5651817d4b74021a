# nixpkgs: imports that are nested lists are refused
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [
  { _file = "checks/modules/err-nested-imports.nix"; imports = [ [ ./mods/decl-basic.nix ] ]; }
]; }).config
