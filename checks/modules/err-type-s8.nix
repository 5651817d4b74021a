# nixpkgs types.ints.s8: out-of-range definitions fail with the type description
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
  # Host paths are cut down to the fixture directory.
  rel = s: builtins.replaceStrings [ (toString ./.) ] [ "." ] s;
  # The value of option `o` of type `t` with these definitions.
  value = t: defs: (lib.evalModules { modules = [ { options.o = mkOption { type = t; }; } ] ++ map (d: { o = d; }) defs; }).config.o;
in
(lib.evalModules { modules = [
  { options.o = mkOption { type = types.ints.s8; }; }
  { _file = "checks/modules/err-type-s8.nix"; o = 200; }
]; }).config.o
