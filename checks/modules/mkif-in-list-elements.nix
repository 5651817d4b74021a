# mkIf inside list elements
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.l = lib.mkOption { type = lib.types.listOf lib.types.int; }; }) { l = [ 1 (lib.mkIf false 2) (lib.mkIf true 3) ]; } ]).l
