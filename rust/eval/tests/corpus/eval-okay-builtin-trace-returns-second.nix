builtins.trace [ 1 2 ] (builtins.trace "second" 42)
