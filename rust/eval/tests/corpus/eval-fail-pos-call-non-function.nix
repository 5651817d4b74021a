let
  n = 3;
in
  [ (n 4) ]
