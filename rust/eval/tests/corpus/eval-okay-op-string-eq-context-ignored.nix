"${./fixtures/hello.txt}" == builtins.unsafeDiscardStringContext "${./fixtures/hello.txt}"
