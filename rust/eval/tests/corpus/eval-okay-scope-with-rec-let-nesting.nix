let a = 1; in with { a = 2; b = 3; }; rec { c = a + b; d = let b = 10; in c + b; }
