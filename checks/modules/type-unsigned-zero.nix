# ints.unsigned accepts 0
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.u = lib.mkOption { type = lib.types.ints.unsigned; }; }) { u = 0; } ]).u
