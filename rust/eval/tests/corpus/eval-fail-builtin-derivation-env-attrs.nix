(derivation { name = "ea"; system = "x"; builder = "/b"; s = { a = 1; }; }).drvPath
