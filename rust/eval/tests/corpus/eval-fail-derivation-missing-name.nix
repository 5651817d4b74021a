derivation { system = "x"; builder = "/b"; }
