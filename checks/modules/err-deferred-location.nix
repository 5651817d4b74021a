# nixpkgs types.deferredModule: errors in a deferred definition name its file and the option it came through
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
let
  outer = lib.evalModules {
    modules = [{
      _file = "checks/modules/err-deferred-location.nix";
      options.plugin = mkOption { type = types.deferredModule; };
      config.plugin.sizee = 1;
    }];
  };
  inner = lib.evalModules { modules = [ { options.size = mkOption { default = 0; }; } outer.config.plugin ]; };
in
inner.config.size
