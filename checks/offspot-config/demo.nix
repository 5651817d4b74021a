# The hotspot of ../../../shared/fixtures/recipes/make-offspot-config-demo.py, written as
# a nixspot module: rust/hotspot/tests/offspot_config.rs checks that nixspot renders the
# same recipe as offspot-config 2.10.5's ConfigBuilder did for it.
{
  hotspot = {
    name = "Kiwix Demo";
    domain = "demo";
    tld = "hotspot";
    ap.ssid = "Kiwix Demo";
    base.source = "https://drive.offspot.it/base/offspot-base-arm64-1.4.2.img";
    writeConfig = true;
    admin = {
      username = "admin";
      password = "secret";
    };
    adminUI.enable = true;

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
