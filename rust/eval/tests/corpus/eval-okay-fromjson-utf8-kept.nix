# Well-formed multi-byte characters pass fromJSON, raw or escaped, surrogate pairs too.
builtins.fromJSON ''{"raw": "é€😀", "escaped": "\u00e9\u20ac\ud83d\ude00", "len": 1}''
  // { lengths = map builtins.stringLength [ "é" "€" "😀" ]; }
