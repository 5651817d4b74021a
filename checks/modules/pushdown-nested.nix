# nixpkgs pushDownProperties: mkIf/mkMerge/mkOverride around attribute sets reach every option below, conditions read config without recursion
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [
  ./mods/decl-basic.nix
  ({ config, ... }: lib.mkIf config.ex.enable (lib.mkMerge [
    { ex.tags = [ "enabled" ]; ex.env.A = "1"; }
    (lib.mkIf (config.ex.count > 1) { ex.name = "many"; })
    (lib.mkForce { ex.port = 1; })
  ]))
  { ex.enable = true; ex.count = 2; ex.required = "r"; ex.port = 2; }
]; }).config.ex
