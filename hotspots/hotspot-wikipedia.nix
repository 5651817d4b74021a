# offspot's own example hotspot: the offspot base image, English Wikipedia's
# "climate change" selection without pictures, the dashboard, the captive portal, the
# reverse proxy and kiwix-serve.
{ ... }:
{
  hotspot = {
    name = "Kiwix Hotspot";
    domain = "kiwix";
    tld = "hotspot";
    ap.ssid = "Kiwix Hotspot";
    base.source = "https://drive.offspot.it/base/offspot-base-arm64-1.4.2.img";

    zims.wikipedia = {
      ident = "openZIM:wikipedia_en_climate_change:nopic";
      url = "https://download.kiwix.org/zim/wikipedia/wikipedia_en_climate_change_nopic_2024-06.zim";
      checksumUrl = "https://download.kiwix.org/zim/wikipedia/wikipedia_en_climate_change_nopic_2024-06.zim.md5";
      title = "Wikipedia: climate change";
      description = "English Wikipedia articles about climate change, without pictures";
      languages = [ "eng" ];
      tags = [ "wikipedia" "_category:wikipedia" "nopic" ];
    };
  };
}
