builtins.fromJSON "[1, -2, 30000000000, 1.5, 1e3, -0.25]"
