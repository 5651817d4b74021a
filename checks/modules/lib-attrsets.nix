# attribute-set helpers
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
{ a = lib.mapAttrs' (n: v: lib.nameValuePair "x${n}" (v * 2)) { a = 1; b = 2; }; f = lib.filterAttrs (n: v: v > 1) { a = 1; b = 2; }; p = lib.attrByPath [ "a" "b" ] 0 { a.b = 5; }; q = lib.attrByPath [ "a" "c" ] 0 { a.b = 5; }; r = lib.recursiveUpdate { a = { b = 1; c = 2; }; } { a.b = 3; d = 4; }; o = lib.optionalAttrs false { x = 1; }; }
