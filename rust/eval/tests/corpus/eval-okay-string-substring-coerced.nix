# substring and stringLength of values coerced to strings (read through the coercion,
# not in place) and of a long string (read in place).
let
  long = builtins.concatStringsSep "" (builtins.genList (i: "ab") 5000);
in
[
  (builtins.substring 1 3 { __toString = self: "abcdef"; })
  (builtins.stringLength { outPath = "/x/y"; })
  (builtins.substring 2 (-1) { outPath = "/x/y"; })
  (builtins.substring 9997 5 long)
  (builtins.stringLength (builtins.substring 4000 100000 long))
  (builtins.foldl' (n: i: n + builtins.stringLength (builtins.substring (i * 2) 2 long)) 0 (builtins.genList (i: i) 5001))
]
