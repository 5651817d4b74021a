# nixpkgs _class: a module of the evaluation's class (or of none) is accepted
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { class = "hotspot"; modules = [
  ./mods/decl-basic.nix
  { _class = "hotspot"; ex.required = "r"; }
]; }).config.ex.required
