{ hotspot = { base.source = "nixspot:base"; language = "français"; }; }
