(builtins.tryEval (builtins.elemAt [ 1 2 ] 0)).value
