builtins.hasContext (builtins.readFile ./fixtures/hello.txt)
