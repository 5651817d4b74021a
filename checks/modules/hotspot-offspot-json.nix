# /data/etc/offspot.json
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
builtins.fromJSON (builtins.elemAt (builtins.filter (f: f.to == "/data/etc/offspot.json") (recipe [ { hotspot.variant = "Demo"; hotspot.publicVersion = "v9"; } ]).files) 0).content
