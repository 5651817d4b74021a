# a custom app as a user module (docs/writing-a-hotspot.md): it contributes a compose service, an image, files, a dashboard card (mkAfter) and a reverse-proxy route through hotspot.build, and replaces one built-in file by path with mkForce, as NixOS modules contribute to systemd.services and environment.etc
let
  nixspot = import ../../modules;
  config = (nixspot.evalHotspot { modules = [ ./mods/hotspot-custom-app.nix { hotspot.notes.enable = true; hotspot.zims.wp = { url = "https://example.org/wp.zim"; title = "Wikipedia"; }; } ]; }).config;
  r = config.build.recipe;
  fileAt = to: builtins.head (builtins.filter (f: f.to == to) r.files);
in
{
  service = r.offspot.containers.services.notes;
  images = map (i: i.ident) r.oci_images;
  welcome = fileAt "/data/contents/notes/welcome.md";
  offspotJson = (fileAt "/data/etc/offspot.json").content;
  cards = map (p: p.title) config.build.dashboard.packages;
  proxied = r.offspot.containers.services.reverse-proxy.environment.SERVICES;
  key = r.offspot.notes;
  # The dashboard file holds the card too.
  dashboardFile = map (p: p.title) (builtins.fromJSON (fileAt "/data/contents/dashboard.yaml").content).packages;
  # Its file after the hotspot's own content (hotspot.build.files' default order), before
  # the branding, the dashboard and offspot.json.
  targets = map (f: f.to) r.files;
}
