let t = builtins.toFile "script" "echo"; d = derivation { name = "args"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ t "${./fixtures/hello.txt}" ]; }; in d.drvPath
