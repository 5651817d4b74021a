builtins.toFile "uni" "é日本\n"
