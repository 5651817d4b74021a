# lines are joined with newlines, in order
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix { ex.required = "r"; ex.text = lib.mkAfter "two"; } { ex.text = "one"; } ]).ex.text
