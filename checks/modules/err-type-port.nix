# port range
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix ./mods/def-port-big.nix { ex.required = "r"; } ]).ex.port
