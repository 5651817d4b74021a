# option paths quote names that need it
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
[ (lib.showOption [ "a" "b c" "<name>" ]) (lib.showOption [ "hotspot" "zims" "x.y" ]) ]
