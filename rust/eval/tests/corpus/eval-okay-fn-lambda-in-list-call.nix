(builtins.elemAt [ (x: x + 1) (x: x * 2) ] 1) 21
