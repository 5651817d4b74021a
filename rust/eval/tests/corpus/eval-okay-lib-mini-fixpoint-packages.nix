let
  lib = import ./lib;
  pkgs = lib.fix (self: {
    mkPkg = name: deps: { inherit name deps; closure = lib.unique (builtins.concatMap (d: [ d.name ] ++ d.closure) deps); };
    a = self.mkPkg "a" [ ];
    b = self.mkPkg "b" [ self.a ];
    c = self.mkPkg "c" [ self.a self.b ];
    d = self.mkPkg "d" [ self.c self.b ];
  });
in builtins.mapAttrs (n: p: p.closure) (builtins.removeAttrs pkgs [ "mkPkg" ])
