builtins.pathExists ./fixtures/dir/sub/c.txt
