let l = [ 1 2 ];
in builtins.elemAt l 5
