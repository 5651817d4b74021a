map builtins.fromJSON [ "1" "1.0" "\"s\"" "null" "true" "[]" "{}" " 42 " "-0" "9223372036854775807" ]
