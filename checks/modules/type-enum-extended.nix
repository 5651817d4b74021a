# nixpkgs types.enum: an enum option declared in two modules accepts the values of both
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
let e = lib.evalModules { modules = [
  { options.mode = mkOption { type = types.enum [ "a" "b" ]; default = "a"; }; }
  { options.mode = mkOption { type = types.enum [ "b" "c" ]; }; }
  { mode = "c"; }
]; }; in [ e.config.mode e.options.mode.type.description ]
