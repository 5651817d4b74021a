with { v = 7; }; let inherit v; in v * 2
