# mkBefore / mkAfter
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { ex.required = "r"; ex.tags = [ "mid" ]; } { ex.tags = lib.mkAfter [ "last" ]; } { ex.tags = lib.mkBefore [ "first" ]; } ]).ex.tags
