# A small nixpkgs-lib-like library, exercised by the eval-okay-lib-* cases.
let
  lib = rec {
    id = x: x;
    const = x: _: x;
    flip = f: a: b: f b a;
    fix = f: let x = f x; in x;
    extends = overlay: f: final: let prev = f final; in prev // overlay final prev;
    composeExtensions = f: g: final: prev:
      let fApplied = f final prev; in fApplied // g final (prev // fApplied);

    foldr = op: nul: list:
      let
        len = builtins.length list;
        fold' = n: if n == len then nul else op (builtins.elemAt list n) (fold' (n + 1));
      in fold' 0;
    foldl = op: nul: list: builtins.foldl' op nul list;
    range = first: last: if first > last then [ ] else builtins.genList (n: first + n) (last - first + 1);
    reverseList = xs: let l = builtins.length xs; in builtins.genList (n: builtins.elemAt xs (l - n - 1)) l;
    flatten = x: if builtins.isList x then builtins.concatMap flatten x else [ x ];
    unique = foldl (acc: e: if builtins.elem e acc then acc else acc ++ [ e ]) [ ];
    last = list: builtins.elemAt list (builtins.length list - 1);
    optional = cond: elem: if cond then [ elem ] else [ ];
    optionals = cond: elems: if cond then elems else [ ];
    sum = foldl (a: b: a + b) 0;

    nameValuePair = name: value: { inherit name value; };
    mapAttrs' = f: set: builtins.listToAttrs (map (attr: f attr set.${attr}) (builtins.attrNames set));
    mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (builtins.attrNames attrs);
    filterAttrs = pred: set:
      builtins.listToAttrs (builtins.concatMap (name: let v = set.${name}; in if pred name v then [ (nameValuePair name v) ] else [ ]) (builtins.attrNames set));
    mapAttrsRecursiveCond = cond: f: set:
      let
        recurse = path: builtins.mapAttrs (name: value:
          if builtins.isAttrs value && cond value
          then recurse (path ++ [ name ]) value
          else f (path ++ [ name ]) value);
      in recurse [ ] set;
    mapAttrsRecursive = mapAttrsRecursiveCond (as: true);
    attrByPath = attrPath: default: set:
      let
        n = builtins.length attrPath;
        go = i: s:
          if i == n then s
          else let a = builtins.elemAt attrPath i; in
            if s ? ${a} then go (i + 1) s.${a} else default;
      in go 0 set;
    setAttrByPath = attrPath: value:
      foldr (name: acc: { ${name} = acc; }) value attrPath;
    recursiveUpdate = lhs: rhs:
      let
        both = builtins.intersectAttrs lhs rhs;
        merged = builtins.mapAttrs (name: _:
          if builtins.isAttrs lhs.${name} && builtins.isAttrs rhs.${name}
          then recursiveUpdate lhs.${name} rhs.${name}
          else rhs.${name}) both;
      in lhs // rhs // merged;
    genAttrs = names: f: builtins.listToAttrs (map (n: nameValuePair n (f n)) names);
    collect = pred: attrs:
      if pred attrs then [ attrs ]
      else if builtins.isAttrs attrs then builtins.concatMap (collect pred) (builtins.attrValues attrs)
      else [ ];

    concatMapStrings = f: list: builtins.concatStringsSep "" (map f list);
    concatMapStringsSep = sep: f: list: builtins.concatStringsSep sep (map f list);
    stringToCharacters = s: builtins.genList (p: builtins.substring p 1 s) (builtins.stringLength s);
    hasPrefix = pref: str: builtins.substring 0 (builtins.stringLength pref) str == pref;
    hasSuffix = suffix: content:
      let lenContent = builtins.stringLength content; lenSuffix = builtins.stringLength suffix;
      in lenContent >= lenSuffix && builtins.substring (lenContent - lenSuffix) lenContent content == suffix;
    removePrefix = prefix: str:
      let preLen = builtins.stringLength prefix; in
      if hasPrefix prefix str then builtins.substring preLen (builtins.stringLength str - preLen) str else str;
    splitString = sep: s: builtins.filter builtins.isString (builtins.split (escapeRegex sep) s);
    escapeRegex = builtins.replaceStrings
      (map (c: c) [ "\\" "[" "{" "(" ")" "^" "$" "?" "*" "+" "|" "." ])
      (map (c: "\\" + c) [ "\\" "[" "{" "(" ")" "^" "$" "?" "*" "+" "|" "." ]);
    toUpper = builtins.replaceStrings
      (stringToCharacters "abcdefghijklmnopqrstuvwxyz") (stringToCharacters "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    versionAtLeast = v1: v2: builtins.compareVersions v1 v2 >= 0;
    toInt = s: let n = builtins.fromJSON s; in if builtins.isInt n then n else throw "not an int: ${s}";
    boolToString = b: if b then "true" else "false";
    traceValFn = f: x: builtins.trace (f x) x;
    isFunction = f: builtins.isFunction f || (f ? __functor);
    setFunctionArgs = f: args: { __functor = self: f; __functionArgs = args; };
    makeOverridable = f: origArgs:
      let result = f origArgs; in
      if builtins.isAttrs result then result // { override = newArgs: makeOverridable f (origArgs // newArgs); } else result;
  };
in lib
