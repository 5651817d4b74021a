let
  src = { a = 1; b = 2; };
  s = {
    inherit (src) a
      b;
    c = 3;
  };
  f = { x, y ? 2 }: x;
  fa = builtins.functionArgs f;
  pos = n: set: let p = builtins.unsafeGetAttrPos n set; in if p == null then null else [ (baseNameOf p.file) p.line p.column ];
in {
  inheritFrom = map (n: pos n s) [ "a" "b" "c" ];
  functionArgs = map (n: pos n fa) [ "x" "y" ];
  missing = builtins.unsafeGetAttrPos "nope" s;
  dotted = pos "b" { a.b = 1; };
  dottedOuter = pos "a" { a.b = 1; };
  dyn = pos "d" { ${"d"} = 1; };
  str = pos "e" { "e" = 1; };
  list = pos "a" (builtins.listToAttrs [ { name = "a"; value = 1; } ]);
  update = pos "a" ({ a = 1; } // { b = 2; });
}
