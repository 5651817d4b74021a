# a module asking for an unknown argument
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix ./mods/needs-arg.nix { ex.required = "r"; } ]).ex.name
