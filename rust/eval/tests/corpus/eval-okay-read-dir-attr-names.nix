builtins.attrNames (builtins.readDir ./fixtures)
