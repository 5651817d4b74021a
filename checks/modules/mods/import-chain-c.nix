{ ex.tags = [ "c" ]; }
