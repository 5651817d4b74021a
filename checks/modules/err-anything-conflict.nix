# anything with an int and a string
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.any = lib.mkOption { type = lib.types.anything; }; }) { _file = "inline-any-1.nix"; any.v = 1; } { _file = "inline-any-2.nix"; any.v = "x"; } ]).any
