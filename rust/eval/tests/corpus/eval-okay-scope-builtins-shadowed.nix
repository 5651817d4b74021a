let builtins = { length = x: "mine"; }; in builtins.length [ ]
