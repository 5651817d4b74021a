builtins.fromJSON " { \"k\" : [ \"\\u00e9\\u65e5\" , 1.25e1 ] } "
