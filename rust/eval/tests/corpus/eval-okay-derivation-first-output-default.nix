let d = derivation { name = "m"; system = "x86_64-linux"; builder = "/bin/sh"; outputs = [ "bin" "out" ]; }; in [ d.outputName d.outPath d.bin.outPath ]
