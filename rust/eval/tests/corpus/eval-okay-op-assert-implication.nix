assert false -> true; assert true -> true; "ok"
