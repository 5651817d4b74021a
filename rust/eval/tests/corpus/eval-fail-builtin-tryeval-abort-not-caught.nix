builtins.tryEval (abort "abort is not caught")
