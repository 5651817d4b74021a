builtins.fromTOML ''
  a = 1
  b = "str"
  c = true
  d = 1.5
  e = [ 1, 2, 3 ]
  f = 'literal \n'
  g = """
  multi
  line"""
  [table]
  x = "y"
  [table.sub]
  z = 0
  [[arr]]
  n = 1
  [[arr]]
  n = 2
'' 
