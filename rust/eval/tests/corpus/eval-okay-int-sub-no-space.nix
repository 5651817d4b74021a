let a = 10; b = 3; in [ (a -b) (a - b) ]
