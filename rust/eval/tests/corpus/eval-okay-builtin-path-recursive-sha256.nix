builtins.path { path = ./fixtures/hello.txt; name = "h"; sha256 = "04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw"; }
