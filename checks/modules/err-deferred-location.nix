# nixpkgs types.deferredModule: errors in a deferred definition name its file and the option it came through
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
let
  c = (lib.evalModules { modules = [
    { options.plugin = mkOption { type = types.deferredModule; }; }
    { _file = "checks/modules/err-deferred-location.nix"; plugin = { sizee = 1; }; }
  ]; }).config;
in (lib.evalModules { modules = [ { options.size = mkOption { default = 0; }; } c.plugin ]; }).config.size
