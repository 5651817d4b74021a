builtins.length (builtins.attrNames builtins) > 50
