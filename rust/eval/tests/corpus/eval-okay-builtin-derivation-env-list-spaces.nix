(derivation { name = "el"; system = "x86_64-linux"; builder = "/bin/sh"; l = [ "a" [ "b" "c" ] 3 ]; }).drvPath
