[ (builtins.match "b" "abc") (builtins.match ".*b.*" "abc") (builtins.match "^abc$" "abc") (builtins.match "a.c" "a\nc") ]
