{
  hotspot.ap.ssid = "Packages";
  hotspot.base.source = "nixspot:base";
  hotspot.lockFile = ./hotspot-packages.lock.json;
  # every field from the lock
  hotspot.zims.wp.package = "wikipedia_en_climate_change:nopic";
  # an offspot ident with an empty flavour and a version; the title set here wins
  hotspot.zims.gg = { package = "openZIM:grimgrains_en_all:"; version = "2024-01"; title = "Recipes"; };
  # an explicit URL of another file: neither the package's hash nor its size apply
  hotspot.zims.mirror = {
    package = "wikipedia_en_climate_change:nopic";
    url = "https://mirror.example/climate.zim";
    filename = "climate-mirror.zim";
  };
}
