let m = builtins.genList (i: builtins.genList (j: i * j) 4) 4; in [ m (builtins.elemAt (builtins.elemAt m 3) 2) (builtins.concatLists m) ]
