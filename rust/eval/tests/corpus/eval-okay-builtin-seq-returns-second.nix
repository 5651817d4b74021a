builtins.seq (builtins.seq 1 2) (builtins.deepSeq [ ] "done")
