{
  empty = builtins.tryEval (builtins.foldl' (a: b: a) (throw "init") [ ]);
  nonEmpty = builtins.tryEval (builtins.foldl' (a: b: b) (throw "init") [ 1 ]);
  ok = builtins.foldl' (a: b: a + b) 0 [ 1 2 3 ];
}
