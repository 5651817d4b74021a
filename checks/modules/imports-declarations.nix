# options list every declaring file
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
map (f: baseNameOf f) (lib.evalModules { modules = [ ./mods/ext-submod-a.nix ./mods/ext-submod-b.nix ]; }).options.srv.declarations
