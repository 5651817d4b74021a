# nixpkgs freeformType inside types.submodule (structured module with config): unknown keys allowed, known ones typed
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [
  { options.s = mkOption { type = types.attrsOf (types.submodule { freeformType = types.attrsOf types.int; options.port = mkOption { type = types.port; default = 80; }; }); }; }
  { s.a = { x = 1; }; s.b = { port = 8080; y = 2; }; }
  { s.b.y = lib.mkForce 3; }
]; }).config.s.b // { _module = null; }
