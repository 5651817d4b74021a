# listOf submodule
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
map (x: x.port) (eval [ ({ lib, ... }: { options.ls = lib.mkOption { type = lib.types.listOf (lib.types.submodule { options.port = lib.mkOption { type = lib.types.port; default = 1; }; }); }; }) { ls = [ { } { port = 8; } ]; } ]).ls
