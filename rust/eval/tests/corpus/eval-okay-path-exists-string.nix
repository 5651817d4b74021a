[ (builtins.pathExists (toString ./fixtures/hello.txt)) (builtins.pathExists "${toString ./.}/fixtures/nope") ]
