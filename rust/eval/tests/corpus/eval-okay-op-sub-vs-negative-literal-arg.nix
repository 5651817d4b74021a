let f = x: x; in [ (f (-1)) (builtins.sub 1 (-1)) ]
