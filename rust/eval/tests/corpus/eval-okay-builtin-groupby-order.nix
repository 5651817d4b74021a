builtins.mapAttrs (n: v: map (x: x.i) v) (builtins.groupBy (x: x.g) (builtins.genList (i: { g = if builtins.bitAnd i 1 == 0 then "even" else "odd"; inherit i; }) 7))
