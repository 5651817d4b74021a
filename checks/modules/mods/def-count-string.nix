{ ex.count = "three"; }
