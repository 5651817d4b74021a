let d = ./fixtures; in builtins.readFile "${toString d}/hello.txt"
