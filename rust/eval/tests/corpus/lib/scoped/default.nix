{ v = x + 1; t = builtins.typeOf y; m = map (n: n * 2) [ 1 ]; imp = import ../value.nix; }
