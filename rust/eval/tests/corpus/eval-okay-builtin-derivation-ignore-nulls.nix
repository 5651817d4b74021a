let d = derivation { name = "in"; system = "x86_64-linux"; builder = "/bin/sh"; __ignoreNulls = true; gone = null; kept = "k"; }; in [ d.drvPath d.outPath ]
