let f = { a }: a; in f { a = 1; b = 2; }
