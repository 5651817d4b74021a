# nixpkgs _class: a module of another class is refused by evalModules { class }
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
  # Host paths are cut down to the fixture directory.
  rel = s: builtins.replaceStrings [ (toString ./.) ] [ "." ] s;
in
(lib.evalModules { class = "hotspot"; modules = [
  ./mods/decl-basic.nix
  { _file = "checks/modules/err-class.nix"; _class = "nixos"; ex.required = "r"; }
]; }).config.ex.required
