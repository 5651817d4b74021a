{ site, ... }: { ex.name = site.name; }
