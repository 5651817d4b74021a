let x = { c = 2; }; in { a.b = 1; a = x; }
