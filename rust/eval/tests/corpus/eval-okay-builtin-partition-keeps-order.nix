builtins.partition (x: builtins.bitAnd x 1 == 0) (builtins.genList (x: x) 10)
