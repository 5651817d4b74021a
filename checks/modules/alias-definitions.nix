# nixpkgs mkAliasDefinitions / mkAliasAndWrapDefinitions: the definitions of one option become definitions of another, only when it is defined
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
let c = (lib.evalModules { modules = [
  ({ options, ... }: {
    options.src = mkOption { type = types.listOf types.str; };
    options.unused = mkOption { type = types.listOf types.str; };
    options.dst = mkOption { type = types.listOf types.str; default = [ ]; };
    options.wrapped = mkOption { type = types.attrsOf (types.listOf types.str); default = { }; };
    config.dst = lib.mkMerge [ (lib.mkAliasDefinitions options.src) (lib.mkAliasDefinitions options.unused) ];
    config.wrapped = lib.mkAliasAndWrapDefinitions (v: { w = v; }) options.src;
  })
  { src = [ "a" ]; }
  { src = lib.mkAfter [ "z" ]; dst = [ "own" ]; }
]; }).config; in { inherit (c) dst wrapped; }
