rec { a = { x = 1; }; inherit (a) x; }
