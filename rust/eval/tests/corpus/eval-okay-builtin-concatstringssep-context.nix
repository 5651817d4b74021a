builtins.hasContext (builtins.concatStringsSep "," [ "a" (builtins.toFile "c" "c") ])
