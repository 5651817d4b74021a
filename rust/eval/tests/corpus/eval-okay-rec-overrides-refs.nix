let
  s = rec { a = 1; b = a + 1; __overrides = { a = 7; }; };
  t = rec { x = 1; __overrides = { y = x + 1; }; "${"z"}" = 3; };
  u = rec { inherit (t) x; y = x; __overrides = { x = 5; }; };
  p = rec { a = 1; __overrides = {
    a = 2; }; };
in {
  sb = s.b;
  ty = t.y;
  tz = t.z;
  uy = u.y;
  ux = u.x;
  pos = let q = builtins.unsafeGetAttrPos "a" p; in [ q.line q.column ];
  lazy = (rec { a = 1; __overrides = { b = throw "lazy"; }; }).a;
}
