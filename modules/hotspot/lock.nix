# The lock file `nixspot lock` writes: its pins of downloads and OCI images fill
# `hotspot.build.pins`, and the checks that a module's own checksums and sizes agree
# with them.
{ config, lib, ... }:
let
  inherit (lib) mkOption types literalExpression;
  cfg = config.hotspot;
  lock =
    if cfg.lockFile == null then { version = 1; files = { }; oci = { }; }
    else builtins.fromJSON (builtins.readFile cfg.lockFile);
  files = cfg.build.files;
  lockName = toString cfg.lockFile;
  # A pinned download whose module declares another sha256 or size.
  pinAssertions = to:
    let
      f = files.${to};
      pin = if f.url == null then null else cfg.build.pins.files.${f.url} or null;
      origin = builtins.concatStringsSep ", " f.origin;
    in
    # A path claimed twice is reported by the duplicate check alone.
    lib.optionals (pin != null && builtins.length (lib.unique f.origin) == 1) [
      {
        assertion = f.checksum == null || f.checksum.algo != "sha-256" || f.checksum.kind != "digest" || f.checksum.value == pin.sha256;
        message = "${origin}: sha256 ${f.checksum.value or ""} disagrees with the lock file's ${pin.sha256} for ${f.url} (lock file ${lockName}).";
      }
      {
        assertion = f.size == null || f.size == pin.size;
        message = "${origin}: size ${toString f.size} disagrees with the lock file's ${toString pin.size} for ${f.url} (lock file ${lockName}).";
      }
    ];
in
{
  options.hotspot = {
    lockFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = literalExpression "./hotspot.lock.json";
      description = ''
        JSON lock file written by `nixspot lock`:
        `{"version": 1, "files": {"<url>": {"sha256", "size"}}, "oci": {"<ident>": {"digest", "archiveSha256", "filesize", "fullsize"}}}`.
        Pinned URLs get a `sha-256` digest checksum and their exact size in the recipe; pinned
        OCI images get `<ident>@<digest>` and their sizes.
      '';
    };
  };

  config = {
    hotspot.build.pins = {
      files = builtins.mapAttrs (url: p: { inherit (p) sha256 size; }) (lock.files or { });
      oci = builtins.mapAttrs (ident: p: { inherit (p) digest filesize fullsize; }) (lock.oci or { });
    };

    assertions = builtins.concatMap pinAssertions (builtins.attrNames files) ++ [
      {
        assertion = (lock.version or null) == 1;
        message = "hotspot.lockFile: ${lockName} has version ${builtins.toJSON (lock.version or null)}; nixspot reads version 1.";
      }
    ];
  };
}
