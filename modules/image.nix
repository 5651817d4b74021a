# The image derivation, in plain Nix (no nixpkgs): every download is a `builtin:fetchurl`
# fixed-output derivation pinned by its sha256, and the image itself is built by the
# `nixspot` binary alone (no root, no loop devices, no e2fsprogs), so it runs in any Nix
# sandbox and on remote builders. The result is byte-identical to
# `nixspot build images/<name>.nix`: both assemble the same recipe with the same content.
{ evalHotspot }:
{
  # The hotspot modules (as for evalHotspot).
  modules
, specialArgs ? { }
  # The nixspot package (a derivation with bin/nixspot) …
, nixspot ? null
  # … or the path of a nixspot executable as a string (offline tests, sandbox off).
, nixspotExe ? "${nixspot}/bin/nixspot"
, system ? builtins.currentSystem
  # The image's file name without `.img`.
, name ? "hotspot"
  # URL → URL rewrites for downloads (mirrors; tests point them at a local server).
, urlMap ? { }
}:
let
  evaluated = evalHotspot { inherit modules specialArgs; };
  recipe = evaluated.config.build.recipe;

  sha256Of = entry:
    let c = entry.checksum or null; in
    if c != null && (c.kind or "digest") == "digest" && builtins.elem c.algo [ "sha-256" "sha256" ]
    then c.value else null;

  unpinnedError = what: throw ''
    nixspot: ${what} is not pinned by a sha256, so it cannot be a fixed-output download.
    Run `nixspot lock <your hotspot module>` and point `hotspot.lockFile` at the lock file.'';

  # A store-safe name from a URL's last path segment.
  baseName = url:
    let
      last = builtins.baseNameOf url;
      safe = builtins.replaceStrings [ "?" "&" "=" "%" " " ":" "@" ] [ "-" "-" "-" "-" "-" "-" "-" ] last;
    in
    if safe == "" then "download" else safe;

  fetch = url: sha256: derivation {
    name = baseName url;
    builder = "builtin:fetchurl";
    system = "builtin";
    url = urlMap.${url} or url;
    urls = [ (urlMap.${url} or url) ];
    outputHashAlgo = "sha256";
    outputHash = sha256;
    outputHashMode = "flat";
    executable = false;
    unpack = false;
    preferLocalBuild = true;
  };

  fileDownloads = map
    (entry:
      let sha = sha256Of entry; in
      if sha == null then unpinnedError "files entry ${entry.to} (${entry.url})"
      else fetch entry.url sha)
    (builtins.filter (entry: entry ? url && entry.url != null) (recipe.files or [ ]));

  base = recipe.base;
  baseDownloads =
    if base.source == "nixspot:base" then [ ]
    else
      let sha = sha256Of base; in
      if sha == null then unpinnedError "the base image ${base.source}"
      else [ (fetch base.source sha) ];

  ociDownloads =
    if (recipe.oci_images or [ ]) == [ ] then [ ]
    else throw ''
      nixspot: OCI images in a Nix-built image need fixed-output pulls, which are not
      implemented yet; build this hotspot with `nixspot build` instead.'';

  downloads = baseDownloads ++ fileDownloads ++ ociDownloads;
  recipeFile = builtins.toFile "${name}-recipe.json" (builtins.toJSON recipe);
  drv = derivation {
  name = "hotspot-${name}";
  inherit system;
  builder = nixspotExe;
  args = [
    "build"
    recipeFile
    "--output"
    "${placeholder "out"}/${name}.img"
    "--cache-dir"
    "cache"
    "--offline"
    "--locked"
    "--quiet"
  ] ++ builtins.concatMap (d: [ "--import" "${d}" ]) downloads;
  };
in
drv // { inherit recipe; }
