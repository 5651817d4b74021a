let
  r = builtins.scopedImport { x = 2; y = [ ]; map = f: l: "mine"; } ./lib/scoped;
  again = scopedImport { x = 3; y = null; } ./lib/scoped;
in {
  inherit (r) v m t;
  again = again.v;
  lazy = (scopedImport { x = throw "unused"; y = 1; } ./lib/scoped).t;
  err = builtins.tryEval (scopedImport { x = throw "used"; y = 1; } ./lib/scoped).v;
}
