[ (builtins.isFunction (with { map = "with"; }; map)) (with { toString = x: "custom"; }; toString 1) (with { true = false; }; true) ]
