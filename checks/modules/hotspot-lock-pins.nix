# a lock file pins the base release (as its URL), files and OCI images
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
let r = recipe [ ./mods/hotspot-lock.nix ]; in { base = r.base; oci = map (i: i.ident) r.oci_images; zim = builtins.elemAt r.files 1; }
