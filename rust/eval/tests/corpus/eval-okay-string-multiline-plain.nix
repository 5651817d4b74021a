"line1
line2
  indented kept"
