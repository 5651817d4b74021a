let s = { a = { b = 1; }; }; f = x: x; in [ (f s.a.c or 2) (s.x or s.a.b) ({ }.a or { }.b or 3) ]
