# ints.between
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.b = lib.mkOption { type = lib.types.ints.between 1 13; }; }) { _file = "inline-between.nix"; b = 14; } ]).b
