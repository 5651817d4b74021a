let s = "${./fixtures/hello.txt}"; in builtins.attrNames { ${s} = 1; }
