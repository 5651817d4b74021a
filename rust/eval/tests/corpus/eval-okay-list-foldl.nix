[ (builtins.foldl' (a: b: a + b) 0 [ 1 2 3 ]) (builtins.foldl' (a: b: a ++ [ b ]) [ ] [ 1 2 ]) (builtins.foldl' (a: b: "${a}${b}") "" [ "x" "y" ]) (builtins.foldl' (a: b: a) 7 [ ]) ]
