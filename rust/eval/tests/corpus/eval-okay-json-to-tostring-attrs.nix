builtins.toJSON { __toString = self: "str"; a = 1; }
