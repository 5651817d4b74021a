builtins.hashString "sha256" (builtins.concatStringsSep "" (builtins.genList (i: "block ${toString i};") 5000))
