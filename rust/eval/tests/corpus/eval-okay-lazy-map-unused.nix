builtins.length (map (x: throw "elem") [ 1 2 3 ])
