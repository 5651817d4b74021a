builtins.zipAttrsWith (n: vs: vs) [ { b = 1; a = 1; } { a = 2; } { c = 3; b = 2; } ]
