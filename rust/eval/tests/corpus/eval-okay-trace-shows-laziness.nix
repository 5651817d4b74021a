# `builtins.trace` prints unevaluated parts as <CODE>, as Nix does, even in a strict
# evaluation (nixspot restarts without computing values ahead of time when a trace is
# reached). The value itself is what the runners compare; the trace lines are checked
# by the API tests.
let
  x = 1 + 1;
in
builtins.trace { a = 1 + 1; b = x; c = [ x ]; d = "s"; } [ x (builtins.trace x 3) ]
