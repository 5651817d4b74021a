let d = derivation { name = "bp"; system = "x86_64-linux"; builder = ./fixtures/dir/run.sh; }; in [ d.drvPath (builtins.getContext d.drvPath) ]
