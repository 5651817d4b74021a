{ a = 1; b = "x"; c = { d = true; }; }
