# ints.positive
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.p = lib.mkOption { type = lib.types.ints.positive; }; }) { _file = "inline-positive.nix"; p = 0; } ]).p
