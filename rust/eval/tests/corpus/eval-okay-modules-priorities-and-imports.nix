let
  m = import ./lib/modules.nix;
  inherit (m) mkOption types mkIf mkMerge mkForce;
  common = { options.enable = mkOption { type = types.bool; default = false; }; options.services = mkOption { type = types.attrsOf types.anything; default = { }; }; };
  result = m.evalModules { modules = [
    { imports = [ common ]; options.level = mkOption { type = types.int; default = 1; }; }
    ({ config, ... }: { config = mkMerge [ { enable = true; } (mkIf config.enable { level = 5; services.web = { port = 80; }; }) ]; })
    ({ ... }: { config.level = mkForce 9; config.services.db = { port = 5432; }; })
  ]; };
in result.config
