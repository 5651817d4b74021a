# files a module contributes through hotspot.build.files get the checks of the hotspot's own (a target under /data, each target once), naming the origin the module gave
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
recipe [{
  _file = "inline-build-file.nix";
  hotspot.build.files."/etc/motd" = { content = "hi"; origin = "my-app.nix"; };
  hotspot.build.files."/data/etc/offspot.json" = { content = "{}"; origin = "other-app.nix"; };
}]
