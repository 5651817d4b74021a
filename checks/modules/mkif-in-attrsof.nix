# mkIf false removes an attribute of attrsOf
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { ex.required = "r"; ex.env = { A = lib.mkIf false "x"; B = "y"; }; } ]).ex.env
