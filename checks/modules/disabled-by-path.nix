# nixpkgs disabledModules by path: the module and what only it imports are left out
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [
  ./mods/decl-basic.nix ./mods/disable-target.nix
  { disabledModules = [ ./mods/disable-target.nix ]; ex.required = "r"; ex.tags = [ "kept" ]; }
]; }).config.ex.tags
