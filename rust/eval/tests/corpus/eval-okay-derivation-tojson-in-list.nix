builtins.toJSON [ (derivation { name = "tj"; system = "x86_64-linux"; builder = "/bin/sh"; }) ]
