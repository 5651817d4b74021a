# nixpkgs' unknown-option error inside a submodule (attrsOf submodule): the full path, and suggestions from the submodule's own options
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [ { _file = "inline-zim-typo.nix"; hotspot.zims.wp = { ulr = "https://example.org/wp.zim"; }; } ]
