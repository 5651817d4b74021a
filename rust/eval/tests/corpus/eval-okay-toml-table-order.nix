builtins.fromTOML "[a.b]\nc = 1\n[a]\nd = 2\n[z]\n[y.x]\nw = [ { v = 1 }, { v = 2 } ]"
