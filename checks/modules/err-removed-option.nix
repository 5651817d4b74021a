# nixpkgs mkRemovedOptionModule: a definition fails an assertion naming its file and the instructions
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
let c = (lib.evalModules { modules = [ ./mods/rename-decl.nix ./mods/rename-gone-def.nix ]; }).config; in lib.checkAssertions c c.new.name
