builtins.toFile "x" "${derivation { name = "d"; system = "s"; builder = "/b"; }}"
