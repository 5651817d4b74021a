# readOnly options take one definition
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/readonly-decl.nix ./mods/readonly-a.nix ./mods/readonly-b.nix ]).ro
