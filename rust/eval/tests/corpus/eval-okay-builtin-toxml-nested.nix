builtins.toXML { a = { b = [ 1 { c = "d"; } ]; }; e = null; f = 1.5; g = false; }
