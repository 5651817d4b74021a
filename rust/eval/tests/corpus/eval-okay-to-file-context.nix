builtins.getContext (builtins.toFile "ctx" "c")
