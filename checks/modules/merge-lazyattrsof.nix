# lazyAttrsOf does not force other attributes
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.la = lib.mkOption { type = lib.types.lazyAttrsOf lib.types.int; default = { }; }; }) { la.a = 1; la.b = throw "never forced"; } ]).la.a
