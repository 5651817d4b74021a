let s = { a = 1; b = [ 2 3 ]; }; in builtins.deepSeq s s.b
