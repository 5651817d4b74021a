# equal definitions of a str merge
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { ex.required = "r"; ex.name = "same"; } { ex.name = "same"; } ]).ex.name
