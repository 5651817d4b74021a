let f = s: with s; a + 1; in [ (f { a = 1; }) (f { a = 41; }) ]
