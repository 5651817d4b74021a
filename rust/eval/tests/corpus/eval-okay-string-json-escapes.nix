[ "a\"b" "back\\slash" "nl\n" "cr\r" "tab\t" (builtins.fromJSON "\"\\u0007bell\\b\\f\"") ]
