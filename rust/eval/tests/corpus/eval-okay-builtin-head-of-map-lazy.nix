builtins.head (map (x: x * 2) [ 21 (throw "not evaluated") ])
