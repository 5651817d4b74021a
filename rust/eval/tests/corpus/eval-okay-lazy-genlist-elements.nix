builtins.elemAt (builtins.genList (x: if x == 3 then throw "no" else x) 10) 5
