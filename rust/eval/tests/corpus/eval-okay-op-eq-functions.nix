let f = x: x; in [ (f == f) ((x: x) == (x: x)) ([ f ] == [ f ]) ({ a = f; } == { a = f; }) (builtins.head == builtins.head) ]
