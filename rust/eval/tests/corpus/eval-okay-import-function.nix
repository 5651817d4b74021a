[ (import ./lib/function.nix { a = 1; }) (import ./lib/function.nix { a = 1; b = 5; }) ]
