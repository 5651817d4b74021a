{ config = { ex.count = 2; }; ex.name = "mixed"; }
