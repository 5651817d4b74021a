''
  a\r
  b
''
