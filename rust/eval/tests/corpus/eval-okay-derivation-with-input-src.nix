let d = derivation { name = "src"; system = "x86_64-linux"; builder = "/bin/sh"; src = ./fixtures/dir; script = builtins.toFile "s.sh" "echo"; }; in [ d.drvPath d.outPath ]
