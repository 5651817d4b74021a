# nixspot's own base image: the services run natively, described by offspot.yaml's
# `services` key (captured networks and timeout from the portal options), and
# `extraOffspotConfig` replaces generated keys
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
let
  r = recipe [{
    hotspot = {
      base.source = "nixspot:base";
      captivePortal = { capturedNetworks = [ "10.0.2.0/24" ]; timeout = 5; footerNote = "hi"; };
      filesPackages.mine = { domain = "mine"; title = "Mine"; url = "https://example.org/m.zip"; sha256 = "0000000000000000000000000000000000000000000000000000000000000000"; size = 1; };
      extraOffspotConfig = { timezone = "Africa/Dakar"; custom.key = [ 1 2 ]; };
    };
  }];
in
{
  inherit (r.offspot) services timezone custom;
  images = map (i: i.ident) r.oci_images;
  portalEnv = r.offspot.containers.services.home-portal.environment.CAPTURED_NETWORKS;
}
