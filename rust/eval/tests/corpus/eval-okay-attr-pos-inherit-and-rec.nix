let x = 1; s = rec {
  inherit x;
  y = 2;
}; in map (n: let p = builtins.unsafeGetAttrPos n s; in [ p.line p.column ]) [ "x" "y" ]
