# nixpkgs lib.types check functions: bounds of ints/numbers, string variants
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
let c = t: map t.check; in {
  s8 = c types.ints.s8 [ (-128) 127 128 (-129) ];
  s16 = c types.ints.s16 [ (-32768) 32767 32768 ];
  s32 = c types.ints.s32 [ (-2147483648) 2147483647 2147483648 ];
  u8 = c types.ints.u8 [ 0 255 256 (-1) ];
  positive = c types.ints.positive [ 0 1 ];
  numbersBetween = c (types.numbers.between 0 1) [ 0 0.5 1 1.5 (-1) "1" ];
  numbersNonnegative = c types.numbers.nonnegative [ 0 0.0 (-0.1) ];
  numbersPositive = c types.numbers.positive [ 0 0.1 ];
  singleLineStr = c types.singleLineStr [ "a" "a\n" "a\nb" "" ];
  nonEmptyStr = c types.nonEmptyStr [ "" " " "a" ];
  strMatching = c (types.strMatching "[a-z]+") [ "abc" "ab1" "" ];
  pathInStore = c types.pathInStore [ "${builtins.storeDir}/abc-x" "/tmp/x" "${builtins.storeDir}/.links" ];
  functionTo = c (types.functionTo types.int) [ (x: 1) 1 ];
  coercedTo = c (types.coercedTo types.int toString types.str) [ 1 "a" true ];
}
