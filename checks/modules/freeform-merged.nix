# nixpkgs _module.freeformType is a types.optionType: freeform types set by two modules merge like two declarations of one option
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [
  { freeformType = types.attrsOf (types.submodule { options.a = mkOption { default = 1; }; }); }
  { freeformType = types.attrsOf (types.submodule { options.b = mkOption { default = 2; }; }); }
  { x = { }; y.a = 5; }
]; }).config // { _module = null; }
