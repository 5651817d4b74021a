builtins.path { path = ./fixtures/dir; name = "filtered"; filter = path: type: type != "symlink" && baseNameOf path != "run.sh"; }
