builtins.typeOf (./fixtures + "/hello.txt" + "")
