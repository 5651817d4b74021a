builtins.toJSON { drv = { outPath = "/nix/store/x"; other = 1; }; }
