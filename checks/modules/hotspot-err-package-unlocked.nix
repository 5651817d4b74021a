# a package the lock file does not hold
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [ ./mods/hotspot-packages.nix { _file = "extra-zim.nix"; hotspot.zims.ted.package = "ted_en_playlist:"; } ]
