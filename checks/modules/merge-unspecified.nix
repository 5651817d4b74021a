# an untyped option concatenates lists
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.u = lib.mkOption { }; }) { u = [ 1 ]; } { u = [ 2 ]; } ]).u
