let
  s = rec { a = b + 1; b = 1; __overrides = { b = 10; c = 5; }; };
  t = rec { x = 1; __overrides = { }; };
in { sa = s.a; sb = s.b; sc = s.c or "none"; names = builtins.attrNames s; tx = t.x; tnames = builtins.attrNames t; }
