# TLD blacklist
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [ { _file = "inline-tld.nix"; hotspot.tld = "local"; } ]
