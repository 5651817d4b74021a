builtins.attrNames (builtins.readDir ./lib)
