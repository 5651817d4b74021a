# WPA2 passphrase length
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [ ./mods/hotspot-short-pass.nix ]
