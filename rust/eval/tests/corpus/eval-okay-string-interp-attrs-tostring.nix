"<${{ __toString = self: "custom ${self.v}"; v = "v"; }}>"
