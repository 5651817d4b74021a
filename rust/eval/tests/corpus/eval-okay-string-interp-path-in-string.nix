"path: ${./fixtures/hello.txt}"
