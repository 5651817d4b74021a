# write_config reserves /data/image.yaml
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [ { _file = "inline-image-yaml.nix"; hotspot.writeConfig = true; hotspot.files.copy = { to = "/data/image.yaml"; content = "x"; }; } ]
