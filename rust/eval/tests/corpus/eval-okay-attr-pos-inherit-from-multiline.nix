let src = { a = 1; b = 2; c = 3; d = 4; };
  s = {
      inherit (src) a
    b   c;
    inherit (src)
       d;
  };
  t = { inherit (src) a b; inherit (src) c; };
in map (n: let p = builtins.unsafeGetAttrPos n s; in [ p.line p.column ]) [ "a" "b" "c" "d" ] ++ map (n: let p = builtins.unsafeGetAttrPos n t; in [ p.line p.column ]) [ "a" "b" "c" ]
