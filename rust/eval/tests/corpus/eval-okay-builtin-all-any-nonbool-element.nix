(builtins.tryEval (builtins.all (x: x) [ true ])).value
