builtins.length (builtins.attrValues { a = throw "x"; b = throw "y"; })
