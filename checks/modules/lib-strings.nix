# string helpers
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
{ c = lib.concatMapStringsSep ", " (x: "<${x}>") [ "a" "b" ]; p = lib.hasPrefix "ab" "abc"; s = lib.hasSuffix "bc" "abc"; sp = lib.splitString "." "a.b.c"; lo = lib.toLower "HeLLo"; lv = lib.levenshtein "kitten" "sitting"; b = lib.toBase64 "Man is"; j = lib.toPrettyJSON { } { b = [ 1 ]; a = "x"; }; }
