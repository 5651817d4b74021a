# `builtins.X` found once when lowered; missing names, defaults, shadowing and
# `builtins.builtins` still behave as at run time.
[
  (builtins.seq 1 2)
  (builtins.nope or "default")
  (builtins.builtins.add 1 2)
  (builtins.toString 5)
  "${builtins.toString 7}"
  (let builtins = { seq = 3; }; in builtins.seq)
  (with { builtins = 1; }; builtins.length [ 1 ])
  (builtins ? seq)
  builtins.langVersion
]
