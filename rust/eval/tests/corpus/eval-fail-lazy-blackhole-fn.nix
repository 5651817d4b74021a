let f = x: f x; g = { v = (f 1); }; in (rec { a = b; b = a; }).a
