[ (builtins.readFile ./fixtures/hello.txt) (builtins.readFile ./fixtures/empty.txt) (builtins.readFile ./fixtures/nonl.txt) (builtins.readFile ./fixtures/dir/link) ]
