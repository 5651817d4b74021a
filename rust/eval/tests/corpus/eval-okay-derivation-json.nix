derivation { name = "json-me"; system = "x86_64-linux"; builder = "/bin/sh"; }
