builtins.foldl' (acc: x: throw "forced acc") 0 [ 1 ]
