let d = derivation { name = "iv"; system = "x86_64-linux"; builder = "/bin/sh"; }; in builtins.attrNames (builtins.getContext "${d} and ${d.drvPath}")
