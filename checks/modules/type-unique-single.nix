# nixpkgs types.uniq / types.unique: a single definition is merged by the inner type (a submodule still evaluates)
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
  # The value of option `o` of type `t` with these definitions.
  value = t: defs: (lib.evalModules { modules = [ { options.o = mkOption { type = t; }; } ] ++ map (d: { o = d; }) defs; }).config.o;
in
[
  (value (types.uniq (types.submodule { options.x = mkOption { type = types.int; default = 1; }; })) [ { } ]).x
  (value (types.unique { message = "one please"; } (types.listOf types.int)) [ [ 1 2 ] ])
]
