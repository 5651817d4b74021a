# mkMerge at an option
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { ex.required = "r"; ex.env = lib.mkMerge [ { A = "1"; } { B = "2"; } ]; } ]).ex.env
