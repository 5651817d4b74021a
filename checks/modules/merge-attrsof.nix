# attrsOf merges attributes from several modules
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { ex.required = "r"; ex.env.A = "1"; } { ex.env = { B = "2"; }; } ]).ex.env
