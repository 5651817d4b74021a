# Corners of Nix 2.8's grammar and lexer the parser follows.
let
  a = "b";
  set = { or = 1; x.y = 2; };
in
[
  ({ } ? a ? b)                                   # `?` chains to the left
  (!true == false)                                # `!` binds looser than `+`, tighter than `==`
  (- 2 * 3 + 1)
  (1 - -1)
  (2.e3 + 0.5e-1 + 1. + .5)
  (baseNameOf (toString ./x/${a}//c))             # path text after an interpolation
  (baseNameOf (toString ./x${a}))
  (baseNameOf (toString x/1))                     # a relative path, not a division
  "$${a} ${a}$$"
  ''
    a ''${a} '''b ''\t$${a}
      ${a}''
  set.or
  set.x.y
  (set.z or set.x.y)
  (true -> false -> true)
  (builtins.isFunction (x: x)) # a comment
  /* a block comment */ 7
  [ 1 (2) [ 3 ] { } ]
  (let { body = 8; })
  (({ a ? 1, ... }@args: a + args.b) { b = 2; })
  ((args@{ a, b ? 3 }: a + b + builtins.length (builtins.attrNames args)) { a = 1; })
  http://example.org/a?b=c
]
