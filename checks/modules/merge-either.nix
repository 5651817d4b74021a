# either merges with the type all definitions match
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.e = lib.mkOption { type = lib.types.either lib.types.int (lib.types.listOf lib.types.str); }; }) { e = [ "a" ]; } { e = [ "b" ]; } ]).e
