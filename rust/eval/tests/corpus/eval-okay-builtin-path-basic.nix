[ (builtins.path { path = ./fixtures/hello.txt; }) (builtins.path { path = ./fixtures/dir; name = "renamed"; }) (builtins.path { path = ./fixtures/dir; }) ]
