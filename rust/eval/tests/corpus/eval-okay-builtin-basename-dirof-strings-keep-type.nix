map builtins.typeOf [ (baseNameOf ./fixtures) (dirOf ./fixtures) (baseNameOf "/x") (dirOf "/x/y") ]
