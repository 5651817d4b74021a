# list elements are checked one by one
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { _file = "inline-tags.nix"; ex.required = "r"; ex.tags = [ "ok" 5 ]; } ]).ex.tags
