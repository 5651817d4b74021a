# conflicting definitions name both files and values
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix ./mods/def-name-a.nix ./mods/def-name-b.nix { ex.required = "r"; } ]).ex.name
