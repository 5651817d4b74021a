builtins.hasContext (builtins.toJSON { p = "${./fixtures/hello.txt}"; })
