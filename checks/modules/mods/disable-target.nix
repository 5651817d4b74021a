{ lib, ... }: { config.ex.tags = [ "from-disabled-target" ]; imports = [ ./disable-target-child.nix ]; }
