builtins.toPath "relative"
