{
  hotspot.lockFile = ./hotspot-mismatch.lock.json;
  hotspot.zims.wikibooks = {
    ident = "openZIM:wikibooks_be_all:nopic";
    url = "https://github.com/openzim/zim-testing-suite/raw/v0.5/data/withns/wikibooks_be_all_nopic_2017-02.zim";
    sha256 = "99465e14effc7f951e9c017b4b3cee91967eb49c556d9f4f0d674adbe80d78c2";
    size = 152865;
  };
}
