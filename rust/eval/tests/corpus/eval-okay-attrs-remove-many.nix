# removeAttrs with names unsorted, repeated, absent and empty, from a big set and from
# a set made by `//` (its attributes in two layers).
let
  big = builtins.listToAttrs (builtins.genList (i: { name = "n${toString i}"; value = i; }) 300);
  layered = { a = 1; b = 2; } // { c = 3; d = 4; };
  kept = builtins.removeAttrs big (builtins.genList (i: "n${toString (299 - i * 2)}") 150 ++ [ "n0" "n0" "zz" "" ]);
in
[
  (builtins.attrNames (builtins.removeAttrs layered [ "d" "a" "a" "x" ]))
  (builtins.attrNames kept)
  (builtins.foldl' (s: v: s + v) 0 (builtins.attrValues kept))
  (builtins.attrNames (builtins.removeAttrs { b = 1; a = 2; } [ ]))
]
