# mkOptionDefault has the declared default's priority, so different values conflict
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { _file = "inline-optdefault.nix"; ex.required = "r"; ex.count = lib.mkOptionDefault 9; } ]).ex.count
