{ imports = [ ./import-chain-c.nix ]; ex.tags = [ "b" ]; }
