let
  m = import ./lib/modules.nix;
  inherit (m) mkOption types;
  result = m.evalModules { modules = [
    { options = { name = mkOption { type = types.str; default = "default-name"; }; port = mkOption { type = types.int; default = 80; }; tags = mkOption { type = types.listOf types.str; default = [ ]; }; }; }
    ({ config, lib, ... }: { config = { port = lib.mkDefault 8080; tags = [ "from-a" ]; }; })
    ({ config, lib, ... }: { config = { name = "srv-${toString config.port}"; tags = lib.mkBefore [ "first" ]; }; })
    { config.tags = lib.mkAfter [ "last" ]; }
  ]; };
  lib = m;
in result.config
