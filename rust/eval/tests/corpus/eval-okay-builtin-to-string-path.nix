baseNameOf (toString ./fixtures/hello.txt)
