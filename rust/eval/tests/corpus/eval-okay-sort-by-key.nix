# Comparators of the `a.k < b.k` shape are sorted by their keys: stable (equal keys in
# list order), ascending and descending, integers and strings; other keys (floats,
# mixed types) go through the comparator as written; `sort lessThan` likewise.
let
  recs = builtins.genList (i: { k = i - i / 4 * 4; s = builtins.substring (i - i / 3 * 3) 1 "cab"; id = i; }) 12;
  ids = map (r: r.id);
in {
  asc = ids (builtins.sort (a: b: a.k < b.k) recs);
  desc = ids (builtins.sort (a: b: a.k > b.k) recs);
  strings = ids (builtins.sort (a: b: a.s < b.s) recs);
  stringsDesc = ids (builtins.sort (a: b: a.s > b.s) recs);
  floats = builtins.sort (a: b: a.x < b.x) [ { x = 2.5; } { x = 1; } { x = 0.5; } { x = 1; } ];
  ints = builtins.sort builtins.lessThan [ 3 (-1) 2 3 0 (-7) ];
  strs = builtins.sort builtins.lessThan [ "b" "" "ab" "a" "b" ];
  mixed = builtins.sort builtins.lessThan [ 2 1.5 1 ];
  one = builtins.sort (a: b: a.k < b.k) [ 1 ];
}
