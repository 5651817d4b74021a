with { x = 1; }; with { y = 2; }; with { z = 3; }; [ x y z ]
