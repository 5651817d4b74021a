let
  a = 1;
  b = a + missingVar;
in b
