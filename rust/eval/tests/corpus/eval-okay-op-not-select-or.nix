let s = { }; in [ (!s.a or true) (!(s.a or false)) ]
