[ (builtins.stringLength "hello") (builtins.substring 1 3 "hello") ]
