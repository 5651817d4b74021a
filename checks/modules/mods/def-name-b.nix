{ ex.name = "second"; }
