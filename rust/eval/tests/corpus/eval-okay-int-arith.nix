[ (1 + 2) (10 - 25) (6 * 7) (7 / 2) ((-7) / 2) (7 / (-2)) (builtins.div 9 4) (builtins.sub 3 10) (builtins.mul (-3) 4) (builtins.add 40 2) ]
