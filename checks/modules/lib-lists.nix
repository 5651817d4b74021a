# list helpers
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
{ o = lib.optional true 1 ++ lib.optional false 2; os = lib.optionals true [ 3 4 ]; u = lib.unique [ 1 2 1 3 2 ]; r = lib.range 2 5; l = lib.last [ 1 2 3 ]; t = lib.take 2 [ 1 2 3 ]; d = lib.drop 2 [ 1 2 3 ]; fr = lib.foldr (a: b: a - b) 0 [ 10 4 1 ]; dup = lib.duplicates [ "a" "b" "a" ]; }
