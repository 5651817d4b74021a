let
  s = { a = 1; };
in
  s.b
