builtins.toJSON { b = { d = 1; c = 2; }; a = [ { z = 1; y = 2; } ]; }
