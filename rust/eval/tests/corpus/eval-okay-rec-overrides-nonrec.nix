let s = { a = 1; __overrides = { a = 2; }; }; in { a = s.a; names = builtins.attrNames s; }
