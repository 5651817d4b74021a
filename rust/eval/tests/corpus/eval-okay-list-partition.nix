[ (builtins.partition (x: x > 2) [ 1 2 3 4 ]) (builtins.partition (x: true) [ ]) ]
