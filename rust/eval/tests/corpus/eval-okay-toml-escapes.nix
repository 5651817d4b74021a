builtins.fromTOML ''
  a = "\u00e9"
  b = "tab\there"
  c = 'C:\no\escape'
  d = """
line1 \
  continued"""
'' 
