[ (1.0e308 * 10) (-1.0e308 * 10) (builtins.toJSON (1.0e308 * 10)) (toString (1.0e308 * 10)) ]
