# A small hotspot that builds offline: nixspot's own base image, the real (tiny)
# Belarusian Wikibooks ZIM pinned by hash and size, the dashboard, the captive portal,
# the reverse proxy and kiwix-serve.
{ ... }:
{
  hotspot = {
    name = "Kiwix Demo";
    domain = "demo";
    tld = "hotspot";
    ap.ssid = "Kiwix Demo";
    base.source = "nixspot:base";
    writeConfig = true;

    zims.wikibooks = {
      ident = "openZIM:wikibooks_be_all:nopic";
      url = "https://github.com/openzim/zim-testing-suite/raw/v0.5/data/withns/wikibooks_be_all_nopic_2017-02.zim";
      sha256 = "99465e14effc7f951e9c017b4b3cee91967eb49c556d9f4f0d674adbe80d78c2";
      size = 152865;
      title = "Wikibooks (be)";
      description = "Belarusian Wikibooks, no pictures";
      languages = [ "bel" ];
      tags = [ "wikibooks" "_category:wikibooks" ];
    };

    files."welcome.txt".content = "Welcome to the demo hotspot!";
  };
}
