{
  hotspot.lockFile = ./hotspot.lock.json;
  hotspot.base.source = "1.4.2";
  hotspot.zims.test = {
    ident = "openZIM:wikipedia_en_test:maxi";
    url = "https://download.kiwix.org/zim/wikipedia_en_test_maxi.zim";
  };
}
