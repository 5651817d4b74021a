[ (map (x: x * 2) [ 1 2 3 ]) (builtins.filter (x: x > 1) [ 1 2 3 ]) (map (x: x) [ ]) (builtins.filter (x: false) [ 1 ]) ]
