# mkForce inside mkIf keeps its priority
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { ex.required = "r"; ex.count = lib.mkIf true (lib.mkForce 5); } { ex.count = 6; } ]).ex.count
