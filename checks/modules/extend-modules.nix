# nixpkgs extendModules: the same evaluation with more modules and special arguments; the original is unchanged
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
let
  base = lib.evalModules { modules = [ ./mods/decl-basic.nix ({ tag, ... }: { ex.required = "r"; ex.tags = [ tag ]; }) ]; specialArgs.tag = "base"; };
  more = base.extendModules { modules = [ { ex.tags = lib.mkAfter [ "more" ]; ex.count = 5; } ]; };
  again = more.extendModules { specialArgs.tag = "replaced"; };
in [ base.config.ex.tags more.config.ex.tags more.config.ex.count again.config.ex.tags base._type ]
