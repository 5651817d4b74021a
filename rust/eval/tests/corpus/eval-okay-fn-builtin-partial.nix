let add5 = builtins.add 5; in [ (add5 1) (map (builtins.mul 2) [ 1 2 3 ]) ]
