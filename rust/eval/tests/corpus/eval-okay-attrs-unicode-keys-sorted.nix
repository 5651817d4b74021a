builtins.attrNames { "é" = 1; "z" = 2; "A" = 3; "日" = 4; "_" = 5; }
