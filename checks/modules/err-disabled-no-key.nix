# nixpkgs disabledModules: an attribute set without a key is refused
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [
  ./mods/decl-basic.nix
  { _file = "checks/modules/err-disabled-no-key.nix"; disabledModules = [ { ex.tags = [ ]; } ]; ex.required = "r"; }
]; }).config.ex.tags
