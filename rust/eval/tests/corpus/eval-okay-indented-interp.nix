let x = "X"; y = "multi\nline"; in ''
    a ${x} b
    ${y}
      c
''
