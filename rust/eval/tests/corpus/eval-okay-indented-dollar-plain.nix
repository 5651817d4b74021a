''
  $HOME ${"interp"} $ {x} $$ $${x}
''
