builtins.getContext ("${./fixtures/hello.txt}" + (builtins.toFile "a" "b"))
