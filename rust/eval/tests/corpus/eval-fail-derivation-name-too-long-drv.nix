(derivation { name = builtins.concatStringsSep "" (builtins.genList (x: "a") 220); system = "x"; builder = "/b"; }).drvPath
