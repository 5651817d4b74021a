# Builtins applied to all their arguments at once by foldl'/sort, and partially.
[
  (builtins.foldl' builtins.add 0 [ 1 2 3 ])
  (builtins.foldl' builtins.sub 100 [ 1 2 ])
  (builtins.foldl' (acc: f: f acc) 10 [ (builtins.add 1) (builtins.mul 2) ])
  ((builtins.foldl' (f: x: f) builtins.sub [ 1 ]) 5 3)
  (builtins.foldl' builtins.elemAt [ [ [ 7 ] ] ] [ 0 0 ])
  (builtins.sort builtins.lessThan [ 3 1 2 ])
]
