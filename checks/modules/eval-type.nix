# nixpkgs evalModules result: .type is a submodule type of the same modules
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
let
  e = lib.evalModules { modules = [ { options.n = mkOption { type = types.int; default = 1; }; } ]; };
  outer = lib.evalModules { modules = [ { options.inner = mkOption { type = e.type; }; } { inner.n = 7; } ]; };
in outer.config.inner.n
