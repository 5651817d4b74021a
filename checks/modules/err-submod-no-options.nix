# nixpkgs unknown-option error in a submodule without options: the hint about declaring options under config
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [
  { _file = "checks/modules/err-submod-no-options.nix"; options.s = mkOption { type = types.submodule { config.x = 1; }; }; }
  { s = { }; }
]; }).config.s
