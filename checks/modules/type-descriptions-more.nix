# nixpkgs lib.types descriptions of the types added for issue 20
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
map (t: t.description) [
  (types.functionTo types.int) (types.coercedTo types.int toString types.str) types.deferredModule
  (types.unique { message = "m"; } types.int) types.ints.s8 types.ints.s16 types.ints.s32 types.ints.u32
  (types.numbers.between 0 10) types.numbers.nonnegative types.numbers.positive types.singleLineStr
  (types.separatedString "") types.commas types.pathInStore (types.passwdEntry types.str)
  (types.attrsWith { elemType = types.int; lazy = true; }) (types.strMatching "[a-z]+") types.nonEmptyStr
]
