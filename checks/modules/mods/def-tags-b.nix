{ lib, ... }: { ex.tags = lib.mkBefore [ "b" ]; imports = [ ./def-tags-a.nix ]; }
