# attrsOf values are checked with their name
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { _file = "inline-env.nix"; ex.required = "r"; ex.env.PORT = 80; } ]).ex.env
