[ (builtins.typeOf (./fixtures + "/hello.txt")) (baseNameOf (./fixtures + "/hello.txt")) (builtins.readFile (./fixtures + "/hello.txt")) (baseNameOf (/a + "b")) (toString (/a + "/b/../c")) ]
