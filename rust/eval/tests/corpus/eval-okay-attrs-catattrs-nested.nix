builtins.catAttrs "x" [ { x = [ 1 ]; } { y = 1; } { x = { z = 2; }; } ]
