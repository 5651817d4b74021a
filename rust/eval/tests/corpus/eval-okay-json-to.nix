builtins.toJSON { a = [ 1 2.5 "s" null true ]; "b\"q" = { c = "line\nbreak\ttab\u0001é/"; }; e = { }; f = [ ]; }
