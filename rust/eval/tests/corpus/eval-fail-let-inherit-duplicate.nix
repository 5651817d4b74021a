let b = 1; in let b = 2; inherit b; in b
