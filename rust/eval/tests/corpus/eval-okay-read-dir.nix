builtins.readDir ./fixtures/dir
