let lib = import ./lib; base = self: { a = 1; b = self.a + 1; }; ov = final: prev: { a = 10; c = final.b * 2; }; in lib.fix (lib.extends ov base)
