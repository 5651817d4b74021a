# mkEnableOption
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
let o = lib.mkEnableOption "the thing"; in { inherit (o) default description; t = o.type.description; }
