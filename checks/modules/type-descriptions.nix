# type descriptions as in nixpkgs
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
map (t: t.description) [ types.bool types.int types.str types.lines types.port (types.listOf types.str) (types.attrsOf types.int) (types.lazyAttrsOf types.int) (types.nullOr types.str) (types.either types.int types.str) (types.enum [ 1 "a" ]) types.anything types.raw types.package types.path types.ints.unsigned ]
