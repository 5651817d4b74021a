# mkForce (50) beats a plain definition
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { ex.required = "r"; ex.count = lib.mkForce 7; } { ex.count = 3; } ]).ex.count
