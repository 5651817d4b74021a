# an option declared twice
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/dup-decl-a.nix ./mods/dup-decl-b.nix ]).dup
