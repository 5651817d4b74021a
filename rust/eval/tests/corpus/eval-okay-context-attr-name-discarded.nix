let s = "${./fixtures/hello.txt}"; in builtins.attrNames { ${builtins.unsafeDiscardStringContext s} = 1; }
