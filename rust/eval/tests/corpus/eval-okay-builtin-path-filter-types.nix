let seen = builtins.path { path = ./fixtures/tree; filter = p: t: t == "directory" || baseNameOf p == "top.txt"; }; in seen
