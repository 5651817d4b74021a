let f = { __functor = self: x: x + self.inc; inc = 10; }; in [ (f 5) (builtins.isFunction f) (builtins.typeOf f) ]
