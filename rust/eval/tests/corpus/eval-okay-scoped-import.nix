{
  r = builtins.scopedImport { x = 41; y = "s"; } ./lib/scoped;
  same = builtins.scopedImport { } ./lib/value.nix == import ./lib/value.nix;
  shadow = (builtins.scopedImport { map = _: _: "shadowed"; x = 1; y = 2; } ./lib/scoped).m;
}
