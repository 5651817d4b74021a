builtins.attrNames (builtins.intersectAttrs { a = throw "x"; b = 1; } { a = 2; c = 3; })
