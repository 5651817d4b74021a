# the module asks for another version than the lock holds
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [ ./mods/hotspot-packages.nix { _file = "pin-version.nix"; hotspot.zims.wp.version = "2024-05"; } ]
