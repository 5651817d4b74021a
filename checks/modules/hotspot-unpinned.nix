# unpinned downloads have no checksum and size -1
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
let r = recipe [ { hotspot.zims.t = { ident = "openZIM:t:"; url = "https://example.org/t.zim"; }; } ]; in builtins.elemAt r.files 1
