let name = "hello.txt"; in builtins.readFile ./fixtures/${name}
