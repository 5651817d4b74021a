# definitions at the highest priority merge; lower ones are dropped
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { ex.required = "r"; ex.tags = lib.mkDefault [ "d" ]; } { ex.tags = [ "x" ]; } { ex.tags = [ "y" ]; } ]).ex.tags
