let s = builtins.removeAttrs { a = 1; b = 2; } [ "a" ]; in [ (s ? a) (s ? b) ]
