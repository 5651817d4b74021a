[ (builtins.seq null "a") (builtins.deepSeq [ [ [ 1 ] ] ] "b") ]
