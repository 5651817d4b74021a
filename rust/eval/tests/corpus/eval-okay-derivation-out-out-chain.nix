let d = derivation { name = "oo"; system = "x86_64-linux"; builder = "/bin/sh"; }; in [ (d.out.out.outPath == d.outPath) (d.all == [ d.out ]) (builtins.attrNames d.drvAttrs) ]
