# float
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.f = lib.mkOption { type = lib.types.float; }; }) { f = 1.5; } ]).f
