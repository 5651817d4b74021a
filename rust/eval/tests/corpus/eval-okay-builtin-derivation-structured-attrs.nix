let d = derivation { name = "sa"; system = "x86_64-linux"; builder = "/bin/sh"; __structuredAttrs = true; list = [ 1 "two" { three = 3; } ]; flag = true; }; in [ d.drvPath d.outPath ]
