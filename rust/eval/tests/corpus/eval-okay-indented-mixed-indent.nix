''
   three
  two
    four
''
