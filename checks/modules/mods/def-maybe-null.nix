{ ex.maybe = null; }
