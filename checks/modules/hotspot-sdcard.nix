# an SD card sets output.size to its usable bytes
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
(recipe [ ./mods/hotspot-packages.nix { hotspot.output.sdCard = "16GB"; } ]).output
