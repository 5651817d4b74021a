# options expose the winning priority
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [ ./mods/decl-basic.nix { ex.required = "r"; ex.count = lib.mkDefault 4; } ]; }).options.ex.count.highestPrio
