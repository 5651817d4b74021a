# a hotspot larger than its SD card
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [ ./mods/hotspot-packages.nix { _file = "card.nix"; hotspot.output.sdCard = "8GB"; hotspot.zims.big = { url = "https://x.example/big.zim"; size = 8000000000; }; } ]
