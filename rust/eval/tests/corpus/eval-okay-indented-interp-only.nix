let v = "val"; in ''${v}''
