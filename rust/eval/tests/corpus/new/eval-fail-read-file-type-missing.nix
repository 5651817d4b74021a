builtins.readFileType ../fixtures/not-there
