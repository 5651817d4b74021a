let f = x: with { x = "with"; }; x; in f "arg"
