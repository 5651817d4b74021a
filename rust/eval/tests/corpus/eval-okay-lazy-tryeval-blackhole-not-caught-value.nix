(builtins.tryEval (let x = throw "t"; in x)).success
