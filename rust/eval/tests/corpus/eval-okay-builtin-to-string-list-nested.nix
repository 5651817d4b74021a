toString [ "a" [ "b" [ "c" ] ] 1 null ]
