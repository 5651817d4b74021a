let v = { a = [ 1 2 { b = "c"; } ]; d = null; e = 1.5; }; in builtins.fromJSON (builtins.toJSON v) == v
