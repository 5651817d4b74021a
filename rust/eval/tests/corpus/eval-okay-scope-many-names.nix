# Scopes with more than 16 names (looked up through an index): bindings naming each
# other in any order, shadowing outer names, `inherit` in `rec` taking the outer
# binding, formals with defaults naming other formals, and `with` not shadowing them.
let
  a = "outer a";
  q = "outer q";
  f = { b1, b2 ? b1 + 1, b3 ? b2 + b1, b4 ? 4, b5 ? 5, b6 ? 6, b7 ? 7, b8 ? 8, b9 ? 9
      , b10 ? 10, b11 ? 11, b12 ? 12, b13 ? 13, b14 ? 14, b15 ? 15, b16 ? 16, b17 ? b16 + b3 }@args:
    [ b1 b2 b3 b17 (builtins.length (builtins.attrNames args)) ];
  inner = let
    a = "inner a"; c01 = c02 + 1; c02 = c03 + 1; c03 = 1; c04 = a; c05 = q; c06 = c01 * 10;
    c07 = 7; c08 = 8; c09 = 9; c10 = 10; c11 = 11; c12 = 12; c13 = 13; c14 = 14; c15 = 15;
    c16 = 16; c17 = c16 + c07;
  in [ c01 c04 c05 c06 c17 (with { c01 = "from with"; zz = "with only"; }; [ c01 zz ]) ];
  set = rec {
    inherit a;
    r01 = a; r02 = r03; r03 = "r03"; r04 = 4; r05 = 5; r06 = 6; r07 = 7; r08 = 8; r09 = 9;
    r10 = 10; r11 = 11; r12 = 12; r13 = 13; r14 = 14; r15 = 15; r16 = 16; r17 = r16 + r04;
  };
in
[ (f { b1 = 1; }) inner set.a set.r01 set.r02 set.r17 ]
