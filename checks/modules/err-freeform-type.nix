# nixpkgs freeformType: a definition without an option is checked against the freeform type
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [
  { freeformType = types.attrsOf types.int; }
  { _file = "checks/modules/err-freeform-type.nix"; b = "not an int"; }
]; }).config.b
