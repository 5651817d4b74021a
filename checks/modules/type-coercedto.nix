# nixpkgs types.coercedTo: values of the coerced type are converted, then merged by the final type
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
  # The value of option `o` of type `t` with these definitions.
  value = t: defs: (lib.evalModules { modules = [ { options.o = mkOption { type = t; }; } ] ++ map (d: { o = d; }) defs; }).config.o;
in
[
  (value (types.coercedTo types.int toString types.str) [ 42 ])
  (value (types.coercedTo types.str (s: [ s ]) (types.listOf types.str)) [ "a" [ "b" ] ])
]
