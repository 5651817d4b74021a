(derivation { name = "ef"; system = "x"; builder = "/b"; f = x: x; }).drvPath
