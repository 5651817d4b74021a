rec { x = { y = z; }; z = 5; w = x.y; }
