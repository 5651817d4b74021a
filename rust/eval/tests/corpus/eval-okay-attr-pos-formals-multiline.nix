let f = {
   x,
  y ? 2,  z
 }: x; fa = builtins.functionArgs f; in map (n: let p = builtins.unsafeGetAttrPos n fa; in [ p.line p.column ]) [ "x" "y" "z" ]
