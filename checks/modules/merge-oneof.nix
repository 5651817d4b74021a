# oneOf accepts any listed type
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.o = lib.mkOption { type = lib.types.oneOf [ lib.types.bool lib.types.int lib.types.str ]; }; }) { o = "s"; } ]).o
