builtins.substring 0 60 (builtins.toXML /some/abs/path)
