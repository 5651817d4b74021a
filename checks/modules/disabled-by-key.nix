# nixpkgs disabledModules by key: an attribute set with a key, or a module with the same key
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [
  ./mods/decl-basic.nix
  { key = "tagger-one"; ex.tags = [ "one" ]; }
  { key = "tagger-two"; ex.tags = [ "two" ]; }
  { disabledModules = [ { key = "tagger-one"; } ]; ex.required = "r"; }
]; }).config.ex.tags
