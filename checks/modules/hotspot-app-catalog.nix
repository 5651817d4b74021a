# a catalog app: catalog environ, environ_map, then the user's environment
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
let r = recipe [ { hotspot.apps."file-manager.offspot.kiwix.org" = { enable = true; environment.ACCESS_MODE = "read-only"; }; hotspot.admin.password = "pw"; } ]; in r.offspot.containers.services.resources
