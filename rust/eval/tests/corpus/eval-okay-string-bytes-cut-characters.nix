# Strings are bytes: cutting inside a character keeps the bytes, and every builtin
# passes them on unchanged (the expected output holds bytes that are not UTF-8).
let
  s = "é€x";
  c = builtins.substring 0 1 s;
in
[
  (builtins.stringLength s)
  c
  (builtins.substring 1 3 s)
  (builtins.replaceStrings [ "" ] [ "-" ] "é")
  (builtins.match "(.)(.).*" s)
  (builtins.split "" "é")
  (c + builtins.substring 1 1 s)
  (builtins.toJSON c)
  (builtins.hashString "sha256" c)
  (builtins.compareVersions c "a")
  (builtins.parseDrvName "x-${c}")
  (builtins.baseNameOf "/a/${c}")
  (builtins.dirOf "${c}/b")
  (builtins.lessThan c "é")
  (builtins.sort builtins.lessThan [ c "é" (builtins.substring 1 1 s) ])
  (builtins.concatStringsSep c [ "a" "b" ])
  (builtins.splitVersion "1${c}2")
  (builtins.stringLength (builtins.toFile "cut" c))
  "${c}${builtins.toString [ c c ]}"
  # Attribute names are bytes too.
  (builtins.attrNames { ${c} = 1; ${builtins.substring 1 1 s} = 2; "é" = 3; z = 4; })
  (builtins.toJSON { ${c} = c; })
  (builtins.hasAttr c (builtins.listToAttrs [ { name = c; value = null; } ]))
  (builtins.hasAttr "é" { ${c} = 1; })
  (builtins.mapAttrs (n: v: n + v) { ${c} = builtins.substring 1 1 s; })
]
