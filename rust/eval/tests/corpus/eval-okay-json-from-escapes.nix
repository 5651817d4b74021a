builtins.fromJSON ''["\"\\\/\b\f\n\r\t", "\u0041\u00DF"]'' 
