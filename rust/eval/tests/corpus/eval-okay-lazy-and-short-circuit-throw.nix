[ (false && throw "x") (true || throw "y") (if false then throw "z" else 1) ]
