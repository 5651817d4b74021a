''
  ''${"not interp"} and ${"interp"}
''
