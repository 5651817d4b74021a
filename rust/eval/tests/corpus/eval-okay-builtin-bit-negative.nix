[ (builtins.bitAnd (-8) 7) (builtins.bitOr (-8) 7) (builtins.bitXor (-1) (-1)) ]
