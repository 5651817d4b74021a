# Nested arrays and objects (each takes its elements from the parser's shared stacks),
# escapes split across runs of plain text, duplicate keys.
builtins.fromJSON ''{"a":[1,[2,[3,{"b":"x\"y\\z\u00e9w","e":[]}]],{}],"c":{"d":[],"a":1,"z":{"d":2}},"long":"plain text, then \n a newline and \t a tab \u0041","b":[[],[[]],[{}]]}''
