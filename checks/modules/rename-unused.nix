# nixpkgs renaming modules: nothing defined, no warning, new defaults; the old name of a rename reads the new option
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
let c = (lib.evalModules { modules = [ ./mods/rename-decl.nix { new.name = "direct"; } ]; }).config; in {
  inherit (c) new warnings;
  oldReads = c.old.name;
  assertions = map (a: a.assertion) c.assertions;
  removedReadable = (builtins.tryEval c.old.gone).success;
}
