# a file imported twice counts once; module before its imports
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix ./mods/import-chain-a.nix { ex.required = "r"; } ]).ex.tags
