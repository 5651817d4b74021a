# nixpkgs types.unique: two definitions fail with the message given
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
  # Host paths are cut down to the fixture directory.
  rel = s: builtins.replaceStrings [ (toString ./.) ] [ "." ] s;
  # The value of option `o` of type `t` with these definitions.
  value = t: defs: (lib.evalModules { modules = [ { options.o = mkOption { type = t; }; } ] ++ map (d: { o = d; }) defs; }).config.o;
in
(lib.evalModules { modules = [
  { options.o = mkOption { type = types.unique { message = "Set it in one place only."; } types.int; }; }
  { _file = "checks/modules/err-unique-message-a.nix"; o = 1; }
  { _file = "checks/modules/err-unique-message-b.nix"; o = 2; }
]; }).config.o
