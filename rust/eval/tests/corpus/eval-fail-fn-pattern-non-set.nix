let f = { a }: a; in f 1
