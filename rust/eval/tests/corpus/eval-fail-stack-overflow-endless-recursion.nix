# Endless non-tail recursion ends in an error (Nix: its stack overflow handler), not in
# exhausted memory or a crash.
let
  even = n: if n == 1 then true else odd (n - 1);
  odd = n: if n == 0 then false else even (n - 1);
in
even 64
