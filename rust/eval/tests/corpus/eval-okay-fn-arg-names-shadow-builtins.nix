let f = { map, ... }: map; in f { map = "shadowed"; }
