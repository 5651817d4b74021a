# passing assertions return the value
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
let c = eval [ ./mods/assert-two.nix { ex.count = 6; ex.name = "mine"; } ]; in lib.checkAssertions c "ok"
