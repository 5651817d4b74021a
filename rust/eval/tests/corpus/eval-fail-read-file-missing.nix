builtins.readFile ./fixtures/missing.txt
