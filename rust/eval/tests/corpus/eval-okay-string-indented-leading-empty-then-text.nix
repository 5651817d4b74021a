''


  text
''
