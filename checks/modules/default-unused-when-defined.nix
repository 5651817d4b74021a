# an option's default is never evaluated when a definition wins (it may throw), but an
# mkDefault definition still loses to a plain one and mkIf inside mkDefault is honoured
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
in
eval [
  {
    options.a = lib.mkOption { type = lib.types.int; default = throw "the default of a is evaluated"; };
    options.b = lib.mkOption { type = lib.types.int; default = 1; };
    options.c = lib.mkOption { type = lib.types.listOf lib.types.int; default = [ 0 ]; };
    options.d = lib.mkOption { type = lib.types.int; default = 4; };
  }
  { a = 2; b = lib.mkDefault 3; c = lib.mkForce (lib.mkMerge [ [ 1 ] (lib.mkIf true [ 2 ]) (lib.mkIf false [ 3 ]) ]); }
  { b = 5; d = lib.mkDefault (lib.mkIf true 6); }
]
