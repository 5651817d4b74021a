# warnings accumulate
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ lib.assertionsModule { warnings = [ "w1" ]; } { warnings = [ "w2" ]; } ]).warnings
