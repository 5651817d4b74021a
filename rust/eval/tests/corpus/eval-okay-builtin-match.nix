[
  (builtins.match "ab" "abc") (builtins.match "abc" "abc") (builtins.match "a(b)(c)" "abc")
  (builtins.match "(a)|(b)" "b") (builtins.match "([a-z]+)-([0-9]+)" "foo-123")
  (builtins.match ".*" "") (builtins.match "(.*)" "") (builtins.match "a*(b)?" "aaa")
  (builtins.match "[[:digit:]]+" "123") (builtins.match "[[:alpha:]]+([[:space:]])" "abc ")
  (builtins.match "x{2,3}" "xxx") (builtins.match "(x|y)+" "xyx")
]
