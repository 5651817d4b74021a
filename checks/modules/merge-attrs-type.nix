# types.attrs merges shallowly
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.a = lib.mkOption { type = lib.types.attrs; }; }) { a = { x = 1; }; } { a = { y = 2; }; } ]).a
