# String helpers with the names and semantics of nixpkgs' lib.strings.
{ lists }:
rec {
  inherit (builtins) concatStringsSep stringLength substring replaceStrings match split toString;
  concatStrings = builtins.concatStringsSep "";
  concatMapStrings = f: list: concatStrings (map f list);
  concatMapStringsSep = sep: f: list: builtins.concatStringsSep sep (map f list);
  concatImapStringsSep = sep: f: list: builtins.concatStringsSep sep (lists.imap1 f list);
  optionalString = cond: s: if cond then s else "";
  hasPrefix = pref: str: builtins.substring 0 (builtins.stringLength pref) str == pref;
  hasSuffix = suffix: content:
    let
      lenC = builtins.stringLength content;
      lenS = builtins.stringLength suffix;
    in
    lenC >= lenS && builtins.substring (lenC - lenS) lenS content == suffix;
  hasInfix = infix: content: builtins.match ".*${escapeRegex infix}.*" content != null;
  removePrefix = pref: str:
    if hasPrefix pref str
    then builtins.substring (builtins.stringLength pref) (builtins.stringLength str) str
    else str;
  removeSuffix = suffix: str:
    if hasSuffix suffix str
    then builtins.substring 0 (builtins.stringLength str - builtins.stringLength suffix) str
    else str;
  stringToCharacters = s: builtins.genList (p: builtins.substring p 1 s) (builtins.stringLength s);
  escapeRegex = builtins.replaceStrings
    [ "\\" "[" "]" "{" "}" "(" ")" "^" "$" "." "|" "*" "+" "?" ]
    [ "\\\\" "\\[" "\\]" "\\{" "\\}" "\\(" "\\)" "\\^" "\\$" "\\." "\\|" "\\*" "\\+" "\\?" ];
  upperChars = stringToCharacters "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  lowerChars = stringToCharacters "abcdefghijklmnopqrstuvwxyz";
  toLower = builtins.replaceStrings upperChars lowerChars;
  toUpper = builtins.replaceStrings lowerChars upperChars;
  # Splits on a literal separator (not a regex).
  splitString = sep: s:
    builtins.filter builtins.isString (builtins.split (escapeRegex sep) s);
  fixedWidthString = width: filler: str:
    let strw = builtins.stringLength str; in
    if strw >= width then str else fixedWidthString width filler (filler + str);
  fixedWidthNumber = width: n: fixedWidthString width "0" (builtins.toString n);
  isStringLike = x: builtins.isString x || builtins.isPath x || (builtins.isAttrs x && (x ? outPath || x ? __toString));
  # nixpkgs' lib.strings.levenshteinAtMost: whether the edit distance of `a` and `b` is
  # at most `k`. Strings whose lengths differ by more than `k` are answered without
  # computing the distance (the common case when scanning option names).
  levenshteinAtMost = k: a: b:
    let d = builtins.stringLength a - builtins.stringLength b; in
    (if d < 0 then -d else d) <= k && levenshtein a b <= k;
  # Edit distance (nixpkgs' lib.strings.levenshtein), used for "did you mean" suggestions.
  levenshtein = a: b:
    let
      ca = stringToCharacters a;
      cb = stringToCharacters b;
      lb = builtins.length cb;
      firstRow = builtins.genList (j: j) (lb + 1);
      step = prev: i:
        let
            ai = builtins.elemAt ca (i - 1);
          row = builtins.foldl'
            (acc: j:
              let
                cost = if ai == builtins.elemAt cb (j - 1) then 0 else 1;
                del = builtins.elemAt prev j + 1;
                ins = builtins.elemAt acc (j - 1) + 1;
                sub = builtins.elemAt prev (j - 1) + cost;
                m1 = if del < ins then del else ins;
              in
              acc ++ [ (if m1 < sub then m1 else sub) ])
            [ i ]
            (lists.range 1 lb);
        in
        row;
      final = builtins.foldl' step firstRow (lists.range 1 (builtins.length ca));
    in
    builtins.elemAt final lb;
}
