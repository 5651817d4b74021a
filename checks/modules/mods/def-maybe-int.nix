{ ex.maybe = 3; }
