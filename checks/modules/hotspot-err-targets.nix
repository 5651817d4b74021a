# file validation: targets under /data, duplicates, via, checksums
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [ ./mods/hotspot-bad-files.nix ]
