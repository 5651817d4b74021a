(derivation { name = "x"; system = "x"; builder = "/b"; outputHash = "abc"; outputHashAlgo = "sha256"; }).drvPath
