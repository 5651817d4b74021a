(derivation { name = "sf"; system = "x"; builder = "/b"; __structuredAttrs = true; f = x: x; }).drvPath
