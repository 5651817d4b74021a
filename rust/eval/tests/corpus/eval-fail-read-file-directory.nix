builtins.readFile ./fixtures/dir
