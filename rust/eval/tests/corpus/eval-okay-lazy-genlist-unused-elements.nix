builtins.length (builtins.genList (x: throw "elem") 3)
