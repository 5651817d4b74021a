[ (builtins.match "(.)" "é") (builtins.match "(..)" "é") (builtins.stringLength (builtins.substring 0 1 "é")) (builtins.substring 0 1 "é" + builtins.substring 1 1 "é" == "é") ]
