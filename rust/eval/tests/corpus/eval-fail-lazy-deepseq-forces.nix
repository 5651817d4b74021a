builtins.deepSeq { a = [ 1 (throw "deep") ]; } 1
