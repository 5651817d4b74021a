# nixpkgs types.attrTag: one attribute whose name picks the option that types and merges the value
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
  source = import ./mods/attrtag-source.nix lib;
in
let
  v = defs: (lib.evalModules { modules = [ { options.src = mkOption { type = source; }; } ] ++ map (d: { src = d; }) defs; }).config.src;
in [
  (v [ { url = "https://example.org/x"; } ])
  (removeAttrs (v [ { local.path = "/data"; } { local.copy = true; } ]).local [ "_module" ])
  (v [ { tags = [ "a" ]; } { tags = lib.mkBefore [ "b" ]; } ])
  source.description
  (map (c: source.check c) [ { url = "x"; } { url = "x"; tags = [ ]; } { other = 1; } "x" ])
]
