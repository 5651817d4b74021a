# The algorithm is checked before the path is evaluated.
builtins.hashFile "sha3" (throw "the path is not evaluated")
