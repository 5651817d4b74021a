let
  d = import <nix/fetchurl.nix> { url = "http://example.org/a.tar.gz"; sha256 = "0000000000000000000000000000000000000000000000000000"; };
  e = import <nix/fetchurl.nix> { url = "http://example.org/b"; hash = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="; executable = true; name = "bee"; };
  pick = d: { inherit (d) name builder system urls outputHash outputHashAlgo outputHashMode; out = d.outPath; drv = d.drvPath; };
in {
  path = toString <nix/fetchurl.nix>;
  derivationPath = toString <nix/derivation.nix>;
  exists = builtins.pathExists <nix/fetchurl.nix>;
  d = pick d;
  e = pick e // { inherit (e) executable; };
  names = builtins.attrNames d;
}
