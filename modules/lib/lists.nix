# List helpers with the names and semantics of nixpkgs' lib.lists.
{ }:
rec {
  inherit (builtins) head tail length elem elemAt filter map concatLists concatMap genList
    all any sort partition foldl';
  foldr = op: nul: list:
    let
      len = builtins.length list;
      go = n: if n == len then nul else op (builtins.elemAt list n) (go (n + 1));
    in
    go 0;
  foldl = op: nul: list: builtins.foldl' op nul list;
  optional = cond: elem: if cond then [ elem ] else [ ];
  optionals = cond: elems: if cond then elems else [ ];
  singleton = x: [ x ];
  toList = x: if builtins.isList x then x else [ x ];
  last = list: builtins.elemAt list (builtins.length list - 1);
  init = list: builtins.genList (builtins.elemAt list) (builtins.length list - 1);
  take = n: list:
    let len = builtins.length list; in
    builtins.genList (builtins.elemAt list) (if n < len then n else len);
  drop = n: list:
    let len = builtins.length list; in
    if n >= len then [ ] else builtins.genList (i: builtins.elemAt list (i + n)) (len - n);
  range = first: last:
    if first > last then [ ] else builtins.genList (n: first + n) (last - first + 1);
  imap0 = f: list: builtins.genList (n: f n (builtins.elemAt list n)) (builtins.length list);
  imap1 = f: list: builtins.genList (n: f (n + 1) (builtins.elemAt list n)) (builtins.length list);
  flatten = x: if builtins.isList x then builtins.concatMap flatten x else [ x ];
  remove = e: builtins.filter (x: x != e);
  findFirst = pred: default: list:
    let found = builtins.filter pred list; in
    if found == [ ] then default else builtins.head found;
  count = pred: builtins.foldl' (c: x: if pred x then c + 1 else c) 0;
  reverseList = list:
    let len = builtins.length list; in
    builtins.genList (n: builtins.elemAt list (len - n - 1)) len;
  # Keeps the first occurrence of each element, preserving order.
  unique = builtins.foldl' (acc: x: if builtins.elem x acc then acc else acc ++ [ x ]) [ ];
  # Like unique, but compares by a string key (linear in the list length).
  uniqueBy = keyOf: list:
    (builtins.foldl'
      (acc: x:
        let k = keyOf x; in
        if acc.seen ? ${k} then acc
        else { seen = acc.seen // { ${k} = true; }; out = acc.out ++ [ x ]; })
      { seen = { }; out = [ ]; }
      list).out;
  sortOn = f: list:
    map (p: p.v) (builtins.sort (a: b: a.k < b.k) (map (v: { k = f v; inherit v; }) list));
  zipListsWith = f: a: b:
    builtins.genList (n: f (builtins.elemAt a n) (builtins.elemAt b n))
      (if builtins.length a < builtins.length b then builtins.length a else builtins.length b);
  # All elements that appear more than once (each reported once).
  duplicates = list:
    let
      counted = builtins.foldl'
        (acc: x:
          let k = builtins.toJSON x; in
          acc // { ${k} = { v = x; n = (acc.${k}.n or 0) + 1; }; })
        { }
        list;
    in
    map (k: counted.${k}.v) (builtins.filter (k: counted.${k}.n > 1) (builtins.attrNames counted));
  subtractLists = e: builtins.filter (x: !(builtins.elem x e));
  intersectLists = e: builtins.filter (x: builtins.elem x e);
}
