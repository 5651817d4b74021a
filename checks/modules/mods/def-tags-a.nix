{ ex.tags = [ "a" ]; }
