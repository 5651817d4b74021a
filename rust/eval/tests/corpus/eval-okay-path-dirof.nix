[ (dirOf "/a/b/c") (dirOf "/a") (dirOf "a/b") (dirOf "abc") (dirOf "/") (dirOf "a//b") (baseNameOf (dirOf ./fixtures/hello.txt)) (builtins.typeOf (dirOf ./fixtures)) ]
