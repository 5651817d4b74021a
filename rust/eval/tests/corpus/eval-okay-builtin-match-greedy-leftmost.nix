[ (builtins.match "(a*)(a*)" "aaa") (builtins.match "(a|aa)*" "aaa") (builtins.match "(.*)-(.*)" "a-b-c") ]
