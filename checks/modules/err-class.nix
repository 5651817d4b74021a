# nixpkgs _class: a module of another class is refused by evalModules { class }
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { class = "hotspot"; modules = [
  ./mods/decl-basic.nix
  { _file = "checks/modules/err-class.nix"; _class = "nixos"; ex.required = "r"; }
]; }).config.ex.required
