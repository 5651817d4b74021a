# an app outside the catalog must be described
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [ { hotspot.apps.mine.enable = true; } ]
