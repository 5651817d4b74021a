builtins.attrValues ({ c = 3; a = 1; } // { b = 2; })
