# path needs an absolute path
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.p = lib.mkOption { type = lib.types.path; }; }) { _file = "inline-path.nix"; p = "relative/x"; } ]).p
