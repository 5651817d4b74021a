''
      deep
  ${"x"}
''
