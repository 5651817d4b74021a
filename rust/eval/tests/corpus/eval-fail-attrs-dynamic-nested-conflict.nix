let k = "k"; in { k.a = 1; ${k}.b = 2; }
