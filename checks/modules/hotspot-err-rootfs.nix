# unknown base images need a rootfs size
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [ { _file = "inline-rootfs.nix"; hotspot.base.source = "https://example.org/base.img"; } ]
