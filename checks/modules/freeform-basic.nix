# nixpkgs freeformType: definitions without an option merge by _module.freeformType; declared options keep their types
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [
  { freeformType = types.attrsOf (types.attrsOf types.str); options.a = mkOption { type = types.int; }; }
  { a = 1; b.x = "x"; c.d = "y"; }
  { c.e = lib.mkDefault "z"; c.f = lib.mkIf false "no"; }
]; }).config // { _module = null; }
