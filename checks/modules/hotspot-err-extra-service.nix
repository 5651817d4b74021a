# extra services cannot replace built-in ones
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [ { _file = "inline-extra.nix"; hotspot.containers.extraServices.home.image = "x"; } ]
