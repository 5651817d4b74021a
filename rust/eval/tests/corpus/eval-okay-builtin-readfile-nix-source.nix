builtins.readFile ./lib/value.nix
