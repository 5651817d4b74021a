builtins.fromTOML "x = inf\ny = -inf\nz = -0.0\nw = 1e-3"
