# anything merges attribute sets recursively
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.any = lib.mkOption { type = lib.types.anything; }; }) { any.a.b = 1; any.l = [ 1 ]; } { any.a.c = "x"; any.l = [ 1 ]; } ]).any
