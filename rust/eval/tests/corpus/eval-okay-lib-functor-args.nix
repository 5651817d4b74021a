let lib = import ./lib; f = lib.setFunctionArgs (a: a.x * 2) { x = false; }; in [ (f { x = 21; }) (lib.isFunction f) f.__functionArgs ]
