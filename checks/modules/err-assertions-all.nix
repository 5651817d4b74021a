# every failed assertion is reported
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
let c = eval [ ./mods/assert-two.nix ]; in lib.checkAssertions c "ok"
