builtins.fromJSON ''{"a": [1, -2, 3.5, 1e2, 1E-2, true, false, null], "b": {"c": "d\n\u00e9\ud83d\ude00"}, "": 0, "z": -0.5}'' 
