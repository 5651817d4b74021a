let l = [ 10 20 30 ]; in [ (builtins.length l) (builtins.head l) (builtins.tail l) (builtins.elemAt l 2) (builtins.elem 20 l) (builtins.elem 99 l) (builtins.length [ ]) ]
