{ a = { b = [ 1 (throw "strict") ]; }; }
