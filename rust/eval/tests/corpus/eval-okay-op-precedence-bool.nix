[ (true || false && false) (!true || true) (false -> false -> false) (true -> false || true) (1 + 1 == 2 && 3 > 2) ]
