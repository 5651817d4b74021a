# pins contributed by a module (hotspot.build.pins, which the lock file fills) apply to the recipe's files, the dashboard's download and the OCI images, as the lock file's do
let
  nixspot = import ../../modules;
  config = (nixspot.evalHotspot {
    modules = [{
      hotspot.zims.wp = { url = "https://example.org/wp.zim"; title = "Wikipedia"; };
      hotspot.build.pins.files."https://example.org/wp.zim" = { sha256 = "abababababababababababababababababababababababababababababababab"; size = 4096; };
      hotspot.build.pins.oci."ghcr.io/offspot/kiwix-serve:3.8.2_1" = { digest = "sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"; filesize = 10; fullsize = 20; };
    }];
  }).config;
  r = config.build.recipe;
in
{
  zim = builtins.head (builtins.filter (f: f.to == "/data/contents/zims/openZIM_wp_.zim") r.files);
  download = (builtins.head config.build.dashboard.packages).download;
  kiwix = builtins.head (builtins.filter (i: builtins.match "ghcr.io/offspot/kiwix-serve.*" i.ident != null) r.oci_images);
}
