let a = { type = "derivation"; outPath = "/x"; v = 1; }; b = { type = "derivation"; outPath = "/x"; v = 2; }; in [ (a == b) (a == a) ({ outPath = "/x"; v = 1; } == { outPath = "/x"; v = 2; }) ]
