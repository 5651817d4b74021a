# nixpkgs types.optionType: freeform types that do not merge are refused
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [
  { _file = "checks/modules/err-freeform-conflict-a.nix"; freeformType = types.attrsOf types.int; }
  { _file = "checks/modules/err-freeform-conflict-b.nix"; freeformType = types.attrsOf types.str; }
  { x = 1; }
]; }).config.x
