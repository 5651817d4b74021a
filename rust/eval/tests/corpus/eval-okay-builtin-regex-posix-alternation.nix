# libstdc++'s POSIX extended regex (Nix 2.8): a search keeps the longer side of an
# alternation, a greedy repetition keeps its first match; `match` is anchored.
[
  (builtins.match "(a|ab)(c|bcd)(d*)" "abcd")
  (builtins.match "(a|ab)(bc|c)?" "abc")
  (builtins.match "(a*)(ab)*(b*)" "aabb")
  (builtins.split "(a|ab)" "xabx")
  (builtins.split "a|ab" "abab")
  (builtins.split "(x|xy)(yz|z)?" "xyz xyz")
  (builtins.split "(ab|a)(bc|c)?" "abc")
  (builtins.split "(a)|b" "ab")
  (builtins.split "(a|ab)(c|bcd)(d*)" "xabcdx")
  (builtins.split "(a|ab)*c" "xababcx")
  (builtins.split "(a*)(ab)?" "aab")
  (builtins.split "(a|b)*" "ab")
  (builtins.split "(foo|foobar)-" "foo-foobar-x")
]
