# nixpkgs types.attrTag: definitions with different tags are refused
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
  source = types.attrTag {
    url = mkOption { type = types.str; };
    local = mkOption { type = types.submodule { options.path = mkOption { type = types.str; }; options.copy = mkOption { type = types.bool; default = false; }; }; };
    tags = mkOption { type = types.listOf types.str; };
  };
in
(lib.evalModules { modules = [
  { options.src = mkOption { type = source; }; }
  { _file = "checks/modules/err-attrtag-a.nix"; src.url = "u"; }
  { _file = "checks/modules/err-attrtag-b.nix"; src.tags = [ ]; }
]; }).config.src
