map builtins.readFileType [ ../fixtures/hello.txt ../fixtures/dir ../fixtures/dir/link ../fixtures/dir/run.sh ]
