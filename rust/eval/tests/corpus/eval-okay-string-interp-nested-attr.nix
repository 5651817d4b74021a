let a = { b = { c = "deep"; }; }; in "v=${a.b.c}, ${toString (1 + 2)}"
