(derivation { name = "x"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ 1 true null 1.5 "s" ]; }).drvPath
