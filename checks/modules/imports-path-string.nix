# an absolute path string is a module path
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix (toString ./mods/def-name-a.nix) { ex.required = "r"; } ]).ex.name
