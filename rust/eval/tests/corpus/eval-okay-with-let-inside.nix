with { a = "with"; }; let a = "let"; in a
