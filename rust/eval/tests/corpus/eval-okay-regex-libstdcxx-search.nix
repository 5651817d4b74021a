# Nix 2.8's regexes are libstdc++'s depth-first executor in POSIX mode: alternation
# keeps the longer side, a greedy repetition that matched does not back off, an empty
# iteration may repeat once, and split advances like std::sregex_iterator.
[
  (builtins.split "a*(b|abc)" "xaabcx")
  (builtins.split "(a|ab)(c|bcd)" "abcd")
  (builtins.split "x|$" "axb")
  (builtins.split "^a" "aaa")
  (builtins.split "(a)|b" "ab")
  (builtins.split "" "ab")
  (builtins.split "a?" "baa")
  (builtins.split "(a*)+" "baab")
  (builtins.split "(a|ab)*c?" "abababc")
  (builtins.split "(a|ab)*c?" "abababc")
  (builtins.split "(ab|a)(bc|c)?" "abcabc")
  (builtins.split "([a-c]*|x)y?" "abxcyy")
  (builtins.split "a$|b" "abab")
  (builtins.split "(a*)(b|$)" "aab")
  (builtins.split "(|a)*" "aab")
  (builtins.split "((a)|b)+" "abba")
  (builtins.split "(a|b|ab|ba)+" "abab")
  (builtins.split "(x?)*y" "xxyxy")
  (builtins.split "(a{0,2}|b)(a|b)" "aaabab")
  (builtins.split "[[:space:]]+|," " a, b ,c ")
]
