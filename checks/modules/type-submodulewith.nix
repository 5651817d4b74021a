# nixpkgs types.submoduleWith: modules, specialArgs, shorthandOnlyDefinesConfig (false: an attribute-set definition is a whole module)
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
  # The value of option `o` of type `t` with these definitions.
  value = t: defs: (lib.evalModules { modules = [ { options.o = mkOption { type = t; }; } ] ++ map (d: { o = d; }) defs; }).config.o;
in
let
  t = types.submoduleWith {
    modules = [ ({ greeting, ... }: { options.msg = mkOption { type = types.str; default = greeting; }; }) ];
    specialArgs.greeting = "hello";
  };
in [
  (value t [ { } ])
  (value t [ { config.msg = "set"; } ])
  (value t [ { options.extra = mkOption { default = 2; }; } ]).extra
  (value (types.submoduleWith { modules = [ { options.n = mkOption { default = 1; }; } ]; shorthandOnlyDefinesConfig = true; }) [ { n = 5; } ]).n
]
