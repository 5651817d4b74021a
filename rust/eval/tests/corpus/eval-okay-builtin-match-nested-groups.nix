[ (builtins.match "((a)(b))?c" "c") (builtins.match "((a)(b))?c" "abc") (builtins.match "(a(b(c)))" "abc") ]
