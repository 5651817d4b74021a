# A school hotspot for French- and English-speaking pupils: several ZIMs in two
# languages, a catalog files package (Nomad, Android exercises) and one of our own,
# Kiwix readers for download, footer links, WPA2, a French regulatory domain.
{ lib, ... }:
let
  kiwix = path: "https://download.kiwix.org/zim/${path}";
  zim = { ident, path, title, description, languages, tags }: {
    inherit ident title description languages tags;
    url = kiwix path;
    checksumUrl = kiwix "${path}.md5";
  };
in
{
  hotspot = {
    name = "Bibliothèque de l'école";
    domain = "ecole";
    tld = "offspot";
    welcomeDomain = "bienvenue";
    timezone = "Africa/Dakar";
    variant = "École";
    base.source = "1.4.2";
    output.size = "64G";

    ap = {
      ssid = "Bibliotheque";
      passphrase = "lire-sans-internet";
      country = "SN";
      profile = "coverage";
      channel24 = 6;
    };
    firmware.brcm43455 = "supports-19_2021-11-30";

    zims = {
      wikipedia-fr = zim {
        ident = "openZIM:wikipedia_fr_climate_change:nopic";
        path = "wikipedia/wikipedia_fr_climate_change_nopic_2024-06.zim";
        title = "Wikipédia : changement climatique";
        description = "Articles de Wikipédia sur le changement climatique";
        languages = [ "fra" ];
        tags = [ "wikipedia" "_category:wikipedia" ];
      };
      wikipedia-en = zim {
        ident = "openZIM:wikipedia_en_climate_change:nopic";
        path = "wikipedia/wikipedia_en_climate_change_nopic_2024-06.zim";
        title = "Wikipedia: climate change";
        description = "English Wikipedia articles about climate change";
        languages = [ "eng" ];
        tags = [ "wikipedia" "_category:wikipedia" ];
      };
      wiktionary-fr = zim {
        ident = "openZIM:wiktionary_fr_all:nopic";
        path = "wiktionary/wiktionary_fr_all_nopic_2024-06.zim";
        title = "Wiktionnaire";
        description = "Le dictionnaire libre";
        languages = [ "fra" ];
        tags = [ "wiktionary" "_category:wiktionary" ];
      };
      wikibooks = {
        ident = "openZIM:wikibooks_be_all:nopic";
        url = "https://github.com/openzim/zim-testing-suite/raw/v0.5/data/withns/wikibooks_be_all_nopic_2017-02.zim";
        sha256 = "99465e14effc7f951e9c017b4b3cee91967eb49c556d9f4f0d674adbe80d78c2";
        size = 152865;
        title = "Wikibooks (be)";
        languages = [ "bel" ];
      };
    };

    filesPackages = {
      "nomad.offspot.kiwix.org" = { };
      "fiches.ecole.example" = {
        domain = "fiches";
        title = "Fiches de l'école";
        description = "Fiches de révision préparées par les enseignants";
        languages = [ "fra" ];
        url = "https://example.org/ecole/fiches-2024.zip";
        via = "zip";
        size = 20971520;
        sha256 = "0f3c5e2b1a8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e";
      };
    };

    dashboard = {
      footerNote = "Bibliothèque hors ligne de l'école";
      readers = [
        {
          platform = "android";
          url = "https://download.kiwix.org/release/kiwix-android/kiwix-3.11.1.apk";
          filename = "kiwix-3.11.1.apk";
        }
        {
          platform = "windows";
          url = "https://download.kiwix.org/release/kiwix-desktop/kiwix-desktop_windows_x64_2.3.1-4.zip";
          filename = "kiwix-desktop_windows_x64_2.3.1-4.zip";
        }
      ];
      links = [
        { label = "Administration"; url = "//admin.\${FQDN}"; icon = "lock"; }
      ];
    };
    adminUI.enable = true;
    admin.password = "changez-moi";

    files."lisez-moi.txt" = {
      to = "/data/contents/files/lisez-moi.txt";
      content = "Bienvenue à la bibliothèque de l'école !";
    };
  };
}
