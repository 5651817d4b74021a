# static ethernet needs an address
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [ { _file = "inline-eth.nix"; hotspot.ethernet.type = "static"; } ]
