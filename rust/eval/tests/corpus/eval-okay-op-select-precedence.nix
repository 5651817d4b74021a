let s = { f = x: x + 1; }; in [ (s.f 1) ((builtins.head [ s ]).f 2) ]
