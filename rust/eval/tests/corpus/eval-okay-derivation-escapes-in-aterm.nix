let d = derivation { name = "esc"; system = "x86_64-linux"; builder = "/bin/sh"; weird = "quote\" backslash\\ newline\n tab\t cr\r dollar$"; }; in d.drvPath
