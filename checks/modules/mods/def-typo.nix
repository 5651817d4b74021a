{ ex.nmae = "typo"; }
