(derivation { name = "x"; system = "x"; builder = "/b"; outputs = [ "out" "out" ]; }).drvPath
