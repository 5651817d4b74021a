# Integers at the edges of i64 and u64 (u64 wraps like Nix's cast; beyond, a float),
# and repeated keys across records (read from the parser's key cache).
builtins.fromJSON ''[9223372036854775807, 9223372036854775808, 18446744073709551615, 18446744073709551616, -9223372036854775807, -9223372036854775809, -0, 0, 10, {"k": 1, "b": 2, "k": 3}, {"b": 4, "k": 5}]''
