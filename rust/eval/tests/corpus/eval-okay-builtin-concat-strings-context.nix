builtins.concatStringsSep "," [ "a" "${./fixtures/hello.txt}" ]
