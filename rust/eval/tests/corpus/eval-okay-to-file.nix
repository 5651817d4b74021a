[ (builtins.toFile "hello.txt" "hello\n") (builtins.toFile "empty" "") (builtins.toFile "x.sh" "#!/bin/sh\necho hi\n") ]
