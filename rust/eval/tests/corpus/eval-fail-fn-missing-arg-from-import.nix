import ./lib/function.nix { b = 1; }
