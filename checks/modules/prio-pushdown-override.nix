# mkForce on an attribute set applies to each attribute
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { ex.required = "r"; } { ex = lib.mkForce { name = "forced"; }; } { ex.name = "plain"; } ]).ex.name
