# replaceStrings skips positions where no pattern starts: patterns starting with the
# same byte (the first listed wins), with a byte above 0x7f, at the text's end, and an
# empty pattern among others (which then matches everywhere).
[
  (builtins.replaceStrings [ "ab" "a" "b" ] [ "X" "Y" "Z" ] "cabacb.ab")
  (builtins.replaceStrings [ "é" "e" ] [ "E1" "E2" ] "café, cafe, é")
  (builtins.replaceStrings [ "end" ] [ "END" ] "the end")
  (builtins.replaceStrings [ "b" "" ] [ "B" "-" ] "abc")
  (builtins.replaceStrings [ "zz" ] [ "y" ] "")
  (builtins.replaceStrings [ "q" ] [ "r" ] "no match here")
]
