builtins.fromTOML ''
  [[fruit]]
  name = "apple"
  [fruit.physical]
  color = "red"
  [[fruit.variety]]
  name = "red delicious"
  [[fruit.variety]]
  name = "granny smith"
  [[fruit]]
  name = "banana"
'' 
