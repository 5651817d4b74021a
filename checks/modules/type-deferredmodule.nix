# nixpkgs types.deferredModule: definitions collect into one module, evaluated later (here as a submodule with its own options)
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
let
  c = (lib.evalModules { modules = [
    { options.plugin = mkOption { type = types.deferredModule; }; }
    { plugin = { options.size = mkOption { type = types.int; default = 1; }; }; }
    { plugin = { size = lib.mkForce 3; }; }
    { plugin = { lib, ... }: { options.label = mkOption { type = types.str; default = "x"; }; }; }
  ]; }).config;
  inner = (lib.evalModules { modules = [ c.plugin ]; }).config;
in { inherit (inner) size label; imports = builtins.length c.plugin.imports; }
