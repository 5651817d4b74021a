[ (builtins.readDir ./fixtures/tree) (builtins.readDir ./fixtures/tree/a) ]
