builtins.attrValues (builtins.readDir ./fixtures/dir)
