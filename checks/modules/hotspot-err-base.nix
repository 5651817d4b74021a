# base image source forms
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [ { _file = "inline-base.nix"; hotspot.base.source = "ftp://x/base.img"; hotspot.base.rootfsSize = 1; } ]
