let
  f = { a, b }: a + b;
in
  f { a = 1; }
