[ (builtins.sort (a: b: a < b) [ 10 9 100 1 ]) (builtins.sort (a: b: a < b) [ "10" "9" "100" "1" ]) (builtins.sort (a: b: a < b) [ 1.5 1 0.5 2 ]) ]
