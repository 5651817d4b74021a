# nixpkgs types.attrTag: definitions with different tags are refused
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
  source = import ./mods/attrtag-source.nix lib;
in
(lib.evalModules { modules = [
  { options.src = mkOption { type = source; }; }
  { _file = "checks/modules/err-attrtag-a.nix"; src.url = "u"; }
  { _file = "checks/modules/err-attrtag-b.nix"; src.tags = [ ]; }
]; }).config.src
