# nixpkgs types.ints.s8: out-of-range definitions fail with the type description
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [
  { options.o = mkOption { type = types.ints.s8; }; }
  { _file = "checks/modules/err-type-s8.nix"; o = 200; }
]; }).config.o
