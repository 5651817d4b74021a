# type mismatch shows the value, the expected type and the file
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix ./mods/def-count-string.nix { ex.required = "r"; } ]).ex.count
