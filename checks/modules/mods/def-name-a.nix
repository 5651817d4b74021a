{ ex.name = "first"; }
