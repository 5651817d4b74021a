# absolute strings are paths
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.p = lib.mkOption { type = lib.types.path; }; }) { p = "/data/x"; } ]).p
