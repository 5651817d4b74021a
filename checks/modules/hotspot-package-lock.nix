# catalog packages fill unset ZIM options from the lock file; set options win
let
  nixspot = import ../../modules;
  config = (nixspot.evalHotspot { modules = [ ./mods/hotspot-packages.nix ]; }).config;
  zims = builtins.filter (f: builtins.match "/data/contents/zims/.*[.]zim" f.to != null) config.build.recipe.files;
in
{
  inherit zims;
  cards = map (p: { inherit (p) ident title description languages tags icon url; }) config.build.dashboard.packages;
}
