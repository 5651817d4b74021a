builtins.toJSON [ 1 1.0 (-1) 0.5 1.0e-7 100000000000.0 ]
