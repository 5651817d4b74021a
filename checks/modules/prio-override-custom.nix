# mkOverride 10 beats mkForce
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { ex.required = "r"; ex.count = lib.mkOverride 10 1; } { ex.count = lib.mkForce 2; } ]).ex.count
