# checksumUrl: image-creator reads the digest from a MirrorBrain-style file; the suffix gives the algorithm
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
map (f: f.checksum) (builtins.filter (f: f ? checksum) (recipe [ { hotspot.zims.a = { url = "https://example.org/a.zim"; checksumUrl = "https://example.org/a.zim.sha256"; }; hotspot.zims.b = { url = "https://example.org/b.zim"; checksumUrl = "https://example.org/b.zim.md5"; }; } ]).files)
