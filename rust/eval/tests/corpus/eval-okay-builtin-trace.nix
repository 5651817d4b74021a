builtins.trace "a trace message" (builtins.trace { x = 1; } "value")
