let inner = ''
    nested
      more
  ''; in ''
  outer
    ${inner}
  end
''
