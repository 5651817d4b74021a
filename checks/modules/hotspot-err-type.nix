# type errors name the hotspot option
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [ { _file = "inline-type.nix"; hotspot.ap.channel24 = 14; } ]
