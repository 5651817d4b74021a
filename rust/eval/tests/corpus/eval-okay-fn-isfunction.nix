map builtins.isFunction [ (x: x) builtins.head (builtins.add 1) { } 1 map ]
