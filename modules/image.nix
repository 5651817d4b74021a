# The image derivation, in plain Nix (no nixpkgs): every file download is a
# `builtin:fetchurl` fixed-output derivation pinned by its sha256, every OCI image a
# fixed-output `nixspot oci pull` pinned by the lock's archive sha256, and the image
# itself is built by the `nixspot` binary alone (no root, no loop devices, no
# e2fsprogs), so it runs in any Nix sandbox and on remote builders. The result is
# byte-identical to `nixspot build hotspots/<name>.nix`: both assemble the same recipe
# with the same content.
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
  # For `base.source = "nixspot:base"`: a directory holding nixspot's static arm64
  # device programs (nixspot-runtime, nixspot-portal, nixspot-dashboard), a derivation
  # or a path string.
, deviceBinaries ? null
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
      safe = builtins.replaceStrings [ "?" "&" "=" "%" " " ":" "@" "~" ] [ "-" "-" "-" "-" "-" "-" "-" "-" ] last;
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
  # nixspot's own base image is built inside the image derivation from the `.deb`s its
  # lock pins (the same lock the nixspot binary embeds), each a fixed-output download.
  nixspotBase = base.source == "nixspot:base";
  baseLock = builtins.fromJSON (builtins.readFile ../base/base.lock.json);
  # `builtin:fetchurl` fetches one URL (its `url`; the `urls` list is not tried in
  # turn), so each `.deb` is fetched from its snapshot.debian.org URL: Debian drops
  # superseded packages from the mirror's pool within months, the snapshot archive
  # never does, and the output path depends only on the name and sha256, not the URL.
  # `urlMap` keyed by the pool URL (as `nixspot build` tries it first) still applies.
  debUrl = p:
    if urlMap ? ${p.url} then p.url else p.snapshot_url or p.url;
  baseDownloads =
    if nixspotBase then
      map (p: fetch (debUrl p) p.sha256) (builtins.attrValues baseLock.packages)
    else
      let sha = sha256Of base; in
      if sha == null then unpinnedError "the base image ${base.source}"
      else [ (fetch base.source sha) ];

  # OCI images: `nixspot oci pull` writes the deterministic docker-archive that
  # `nixspot build` keeps in its cache, pinned by the lock's `archiveSha256` (the recipe
  # carries `<reference as written>@<digest>`, as modules/hotspot/recipe.nix pins it).
  lockFile = evaluated.config.hotspot.lockFile or null;
  lockOci = if lockFile == null then { } else (builtins.fromJSON (builtins.readFile lockFile)).oci or { };
  ociPins = builtins.listToAttrs (map
    (written: { name = "${written}@${lockOci.${written}.digest}"; value = lockOci.${written}; })
    (builtins.attrNames lockOci));

  pull = ident: sha256: derivation {
    name = builtins.replaceStrings [ "/" ":" ] [ "_" "_" ] (builtins.head (builtins.split "@" ident)) + ".tar";
    inherit system;
    builder = nixspotExe;
    args = [ "oci" "pull" ident "--output" (placeholder "out") "--cache-dir" "cache" "--sha256" sha256 "--quiet" ];
    outputHashAlgo = "sha256";
    outputHash = sha256;
    outputHashMode = "flat";
    impureEnvVars = [ "http_proxy" "https_proxy" "all_proxy" "no_proxy" "HTTP_PROXY" "HTTPS_PROXY" "ALL_PROXY" "NO_PROXY" ];
    preferLocalBuild = true;
  };

  ociArchives = map
    (image:
      let pin = ociPins.${image.ident} or null; in
      if pin == null then unpinnedError "the OCI image ${image.ident}"
      else { inherit (image) ident; archive = pull image.ident pin.archiveSha256; })
    (recipe.oci_images or [ ]);

  downloads = baseDownloads ++ fileDownloads;
  recipeFile = builtins.toFile "${name}-recipe.json" (builtins.toJSON recipe);
  buildArgs = [
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
  drv = derivation ({
    inherit name system;
    builder = nixspotExe;
    # A derivation runs one command: `oci import` registers the pulled images under their
    # references in the build's cache, then runs `nixspot build`.
    args =
      if ociArchives == [ ] then buildArgs
      else [ "oci" "import" "--cache-dir" "cache" ]
        ++ map (a: "${a.ident}=${a.archive}") ociArchives
        ++ [ "--" ] ++ buildArgs;
  } // (if !nixspotBase then { }
  else if deviceBinaries == null then throw ''
    nixspot: `nixspot:base` needs nixspot's arm64 device programs: pass
    `deviceBinaries` (a directory with nixspot-runtime, nixspot-portal and
    nixspot-dashboard, e.g. the flake's packages.<system>.nixspot-device) to mkHotspotImage.''
  else { NIXSPOT_DEVICE_BINARIES = "${deviceBinaries}"; }));
in
drv // {
  inherit recipe downloads;
  ociArchives = map (a: a.archive) ociArchives;
  meta.description = "Kiwix Hotspot image ${name} (built by nixspot)";
}
