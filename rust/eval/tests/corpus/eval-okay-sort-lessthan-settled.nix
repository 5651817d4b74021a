# `sort lessThan` compares directly; elements forced by the comparator come back as
# values (ints, strings, lists; equal elements keep their order).
let
  ints = builtins.genList (i: (i * 7) - (i * 7) / 10 * 10) 25;
  byKey = builtins.sort (a: b: a.k < b.k) (builtins.genList (i: { k = (i * 3) - (i * 3) / 4 * 4; inherit i; }) 40);
in [
  (builtins.sort builtins.lessThan ints)
  (builtins.sort builtins.lessThan [ "b" "a" "ab" "" ])
  (builtins.sort builtins.lessThan [ [ 2 1 ] [ 1 3 ] [ 1 ] [ ] ])
  (builtins.sort builtins.lessThan [ 2.5 1 (-3) 2 ])
  (map (x: x.i) byKey)
]
