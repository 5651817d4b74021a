builtins.toJSON ./fixtures/hello.txt
