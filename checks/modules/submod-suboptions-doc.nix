# submodule options are visible for documentation
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
builtins.attrNames ((lib.evalModules { modules = [ ./mods/submod-decl.nix ]; }).options.items.type.getSubOptions [ "items" "<name>" ])
