[ (toString { __toString = s: "ts"; outPath = "op"; }) "${{ __toString = s: "ts"; outPath = "op"; }}" (toString { outPath = "only-op"; }) ]
