builtins.getContext (builtins.path { path = ./fixtures/hello.txt; })
