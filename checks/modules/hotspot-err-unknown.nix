# unknown hotspot option with a suggestion
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [ { _file = "inline-unknown.nix"; hotspot.ap.sid = "x"; } ]
