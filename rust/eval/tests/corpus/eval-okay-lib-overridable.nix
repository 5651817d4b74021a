let lib = import ./lib; mk = { a ? 1, b ? 2 }: { sum = a + b; }; p = lib.makeOverridable mk { a = 10; }; in [ p.sum (p.override { b = 5; }).sum ((p.override { b = 5; }).override { a = 0; }).sum ]
