with { x = "w1"; }; let f = x: with { x = "w2"; y = "y2"; }; [ x y ]; in f "arg"
