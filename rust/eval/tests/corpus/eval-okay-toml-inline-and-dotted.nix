builtins.fromTOML ''
  inline = { a = 1, b = { c = "d" } }
  dotted.key.path = "v"
  "quoted key" = 1
  hex = 0xff
  oct = 0o17
  bin = 0b101
  under = 1_000
  neg = -5
  exp = 1e3
  mixed = [ [ 1, 2 ], [ "a" ] ]
'' 
