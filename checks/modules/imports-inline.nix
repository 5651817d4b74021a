# inline modules are never de-duplicated
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { imports = [ { ex.tags = [ "inner" ]; } { ex.tags = [ "inner2" ]; } ]; ex.required = "r"; } ]).ex.tags
