builtins.nope
