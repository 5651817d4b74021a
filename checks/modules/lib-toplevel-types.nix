# nixpkgs' lib exports mkOptionType and isType at the top level as well as under types: modules written against nixpkgs call lib.mkOptionType
let
  lib = import ../../modules/lib;
  even = lib.mkOptionType {
    name = "even";
    description = "even integer";
    check = x: builtins.isInt x && x / 2 * 2 == x;
    merge = lib.mergeEqualOption;
  };
  evaluated = lib.evalModules {
    modules = [
      { options.n = lib.mkOption { type = even; }; }
      { n = 4; }
    ];
  };
in
{
  inherit (evaluated.config) n;
  typeName = even.name;
  isType = lib.isType "option-type" even;
}
