# nullOr submodule
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.c = lib.mkOption { type = lib.types.nullOr (lib.types.submodule { options.algo = lib.mkOption { type = lib.types.str; default = "md5"; }; }); default = null; }; }) { c = { }; } ]).c.algo
