[
  (builtins.split "(a)b" "abc") (builtins.split "([ac])" "abc") (builtins.split "(a)|(c)" "abc")
  (builtins.split "([[:upper:]]+)" "  FOO   ") (builtins.split "," "a,b,,c") (builtins.split "x" "")
  (builtins.split "x*" "abc") (builtins.split "" "ab") (builtins.split "(b)?" "abc")
]
