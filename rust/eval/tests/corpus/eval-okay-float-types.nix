map builtins.typeOf [ 1 1.0 (1 + 1.0) (2 * 3) (builtins.div 4 2.0) ]
