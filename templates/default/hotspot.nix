# One hotspot, as a module. Every option: nixspot's docs/options.md.
{ ... }:
{
  hotspot = {
    name = "My Hotspot";
    domain = "my-hotspot";
    ap.ssid = "My Hotspot";
    base.source = "nixspot:base";
    # Pin downloads with `nixspot lock hotspot.nix`, then:
    # lockFile = ./hotspot.lock.json;
    files."welcome.txt".content = "Welcome!";
  };
}
