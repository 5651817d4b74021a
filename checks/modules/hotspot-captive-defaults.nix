# the captive portal's network settings are defaults users can override
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
(recipe [ { hotspot.ap.asGateway = false; } ]).offspot.ap
