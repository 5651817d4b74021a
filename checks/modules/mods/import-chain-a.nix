{ imports = [ ./import-chain-b.nix ./import-chain-c.nix ]; ex.tags = [ "a" ]; }
