[ (builtins.typeOf ("/tmp" + ./fixtures)) (builtins.isString ("a" + ./fixtures)) ]
