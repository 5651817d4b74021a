[ (builtins.concatStringsSep ", " ["a" "b" "c"]) (builtins.concatStringsSep "" []) (builtins.concatStringsSep "-" ["one"]) (builtins.concatStringsSep "/" ["" "a" ""]) ]
