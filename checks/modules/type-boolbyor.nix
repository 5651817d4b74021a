# nixpkgs types.boolByOr: definitions merge with or (types.bool would need them to agree); either-typed declarations merge side by side
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
let e = lib.evalModules { modules = [
  { options.any = mkOption { type = types.boolByOr; default = false; }; }
  { options.mixed = mkOption { type = types.either types.int (types.submodule { options.a = mkOption { default = 1; }; }); }; }
  { options.mixed = mkOption { type = types.either types.int (types.submodule { options.b = mkOption { default = 2; }; }); }; }
  { any = true; } { any = false; }
  { mixed = { }; }
]; }; in [ e.config.any (removeAttrs e.config.mixed [ "_module" ]) e.options.any.type.description ]
