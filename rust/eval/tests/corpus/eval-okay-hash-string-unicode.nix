builtins.hashString "sha256" "日本語 é\n"
