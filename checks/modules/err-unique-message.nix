# nixpkgs types.unique: two definitions fail with the message given
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [
  { options.o = mkOption { type = types.unique { message = "Set it in one place only."; } types.int; }; }
  { _file = "checks/modules/err-unique-message-a.nix"; o = 1; }
  { _file = "checks/modules/err-unique-message-b.nix"; o = 2; }
]; }).config.o
