let s = { a = { b = null; }; }; in [ (s ? a.b) (s.a.b or "default") (s.a.c or s.a ? b) ]
