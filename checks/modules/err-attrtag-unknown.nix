# nixpkgs types.attrTag: an unknown tag fails the type check
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
  { _file = "checks/modules/err-attrtag-unknown.nix"; src.ftp = "u"; }
]; }).config.src
