# nixpkgs mkRenamedOptionModule / mkAliasOptionModule / mkChangedOptionModule / mkMergedOptionModule: old definitions reach the new options, with nixpkgs' warnings
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
  # Host paths are cut down to the fixture directory.
  rel = s: builtins.replaceStrings [ (toString ./.) ] [ "." ] s;
in
let c = (lib.evalModules { modules = [ ./mods/rename-decl.nix ./mods/rename-old-defs.nix ]; }).config; in {
  inherit (c) new;
  aliasReads = c.alias.port;
  warnings = map rel c.warnings;
}
