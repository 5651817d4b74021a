builtins.readFile "${toString ./fixtures}/hello.txt"
