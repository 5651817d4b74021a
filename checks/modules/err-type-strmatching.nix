# strMatching
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.s = lib.mkOption { type = lib.types.strMatching "[a-z]+"; }; }) { _file = "inline-strmatching.nix"; s = "ABC"; } ]).s
