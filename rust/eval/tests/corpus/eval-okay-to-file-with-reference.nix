builtins.toFile "ref" "uses ${builtins.toFile "dep" "dep content"}"
