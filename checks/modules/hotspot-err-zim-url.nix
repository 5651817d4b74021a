# a ZIM without a URL
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [ { _file = "inline-zim.nix"; hotspot.zims.wp.title = "x"; } ]
