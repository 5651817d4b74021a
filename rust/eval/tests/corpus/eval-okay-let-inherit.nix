let s = { a = 1; }; in let inherit (s) a; b = 2; in let inherit b; in [ a b ]
