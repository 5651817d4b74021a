let k = "a"; in {
  two = { ${k} = { b = 1; }; };
  three = { x = { }; ${k}.b = 1; };
  four = { a.b = 1; a.c = 2; "a".d = 3; };
  five = { ${k}.b = 1; x.c = 2; };
  six = { a = { b = 1; }; a.c = 2; };
  seven = { a.${"b"} = 1; a.c = 2; };
  nine = rec { ${"a"} = 1; b = a; };
  ten = { a.b = 1; a = { c = 2; }; };
  eleven = { a = rec { c = 2; }; a.b = c; };
  twelve = { ${null} = 1; ${"a"}.b = 2; };
  thirteen = { a.b.${k} = 1; a.b.d = 2; };
}
