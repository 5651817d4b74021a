# nixpkgs: a module that is an mkIf (or mkOverride) is that module's config
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [
  ./mods/decl-basic.nix
  (lib.mkIf true { ex.required = "r"; })
  (lib.mkIf false { ex.name = "not-this"; })
  (lib.mkForce { ex.count = 9; })
]; }).config.ex
