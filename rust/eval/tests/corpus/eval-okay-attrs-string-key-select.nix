let s = { "a.b" = 1; a = { b = 2; }; }; in [ s."a.b" s.a.b ]
