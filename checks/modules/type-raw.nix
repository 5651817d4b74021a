# raw keeps values untouched
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.r = lib.mkOption { type = lib.types.raw; }; }) { r = { weird = true; f = x: x; }; } ]).r.weird
