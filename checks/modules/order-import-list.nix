# mkBefore from an importing module
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix ./mods/def-tags-b.nix { ex.required = "r"; } ]).ex.tags
