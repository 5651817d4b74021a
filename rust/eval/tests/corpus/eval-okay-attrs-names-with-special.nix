builtins.attrNames { "" = 1; "with.dot" = 2; "quote\"" = 3; }
