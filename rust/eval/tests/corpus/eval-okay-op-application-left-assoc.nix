let k = a: b: a; in k k 1 2 3
