let d = derivation { name = "x"; system = "x86_64-linux"; builder = "/bin/sh"; }; in [ "${d}" (toString d) ]
