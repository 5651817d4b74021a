# mkIf with a string condition names the option and the file
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix ./mods/def-mkif-string.nix { ex.required = "r"; } ]).ex.count
