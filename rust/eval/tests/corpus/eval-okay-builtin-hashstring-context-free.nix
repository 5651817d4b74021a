builtins.hasContext (builtins.hashString "sha256" "${./fixtures/hello.txt}")
