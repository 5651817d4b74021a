# nixspot's `<nix/fetchurl.nix>`: the arguments and derivation attributes of the one
# corepkg Nix 2.8 lets you import, so that the derivation (and its store paths) match.
{
  system ? "", # accepted and ignored, as in Nix
  url,
  hash ? "", # SRI
  md5 ? "",
  sha1 ? "",
  sha256 ? "",
  sha512 ? "",
  # The first non-empty of hash, sha512, sha1, md5, else sha256.
  outputHash ? (
    if hash != "" then hash
    else if sha512 != "" then sha512
    else if sha1 != "" then sha1
    else if md5 != "" then md5
    else sha256
  ),
  # An SRI hash names its own algorithm.
  outputHashAlgo ? (
    if hash != "" then ""
    else if sha512 != "" then "sha512"
    else if sha1 != "" then "sha1"
    else if md5 != "" then "md5"
    else "sha256"
  ),
  executable ? false,
  unpack ? false,
  name ? baseNameOf (toString url),
}:
derivation {
  inherit name url executable unpack outputHash outputHashAlgo;
  builder = "builtin:fetchurl";
  system = "builtin";
  outputHashMode = if unpack || executable then "recursive" else "flat";
  preferLocalBuild = true;
  impureEnvVars = [ "http_proxy" "https_proxy" "ftp_proxy" "all_proxy" "no_proxy" ];
  urls = [ url ];
}
