let x = 1; in rec { y = x; z = rec { x = 2; w = x + y; }; }
