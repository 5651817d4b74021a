builtins.listToAttrs (builtins.genList (i: { name = "n${toString (5 - i)}"; value = i; }) 5)
