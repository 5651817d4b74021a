{ ex.port = 70000; }
