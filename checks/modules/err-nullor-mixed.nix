# null and non-null definitions conflict
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix ./mods/def-maybe-null.nix ./mods/def-maybe-int.nix { ex.required = "r"; } ]).ex.maybe
