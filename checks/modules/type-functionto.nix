# nixpkgs types.functionTo: definitions are functions whose results merge by the element type
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
  # The value of option `o` of type `t` with these definitions.
  value = t: defs: (lib.evalModules { modules = [ { options.o = mkOption { type = t; }; } ] ++ map (d: { o = d; }) defs; }).config.o;
in
(value (types.functionTo (types.listOf types.str)) [ (x: [ "a${x}" ]) (x: [ "b${x}" ]) ]) "1"
