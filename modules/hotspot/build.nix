# What the concern modules contribute and `recipe.nix` serialises: the image's files,
# compose services, OCI images, `offspot.yaml` keys, dashboard cards, reverse-proxy
# routes and lock pins. Each concern module (and any user module) fills these options
# through `config`, as NixOS modules fill `environment.etc` or `systemd.services`;
# `mkIf`, `mkMerge`, `mkForce`/`mkDefault` and `mkBefore`/`mkAfter` work as usual.
# The options are internal: docs/writing-a-hotspot.md ("A custom app as a module")
# shows how to use them.
{ config, lib, ... }:
let
  inherit (lib) mkOption types literalExpression;
  h = import ./helpers.nix lib;
  htypes = import ./types.nix lib;
  cfg = config.hotspot;

  # Several definitions of a file's position (a placeholder several concerns ask for):
  # the earliest wins, as ConfigBuilder adds a folder's placeholder once, where it is
  # first needed.
  earliest = types.mkOptionType {
    name = "earliest";
    description = "integer (the smallest definition wins)";
    check = builtins.isInt;
    merge = loc: defs: builtins.foldl' (a: d: if d.value < a then d.value else a) (builtins.head defs).value defs;
  };

  fileSpec = { name, ... }: {
    options = {
      url = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "Where image-creator downloads the file from (`https://…`, `file://…`); exclusive with `content`.";
      };
      content = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "Inline content (base64 when `via = \"base64\"`); exclusive with `url`.";
      };
      via = mkOption {
        type = types.str;
        default = "direct";
        description = "How the file is placed: ${builtins.concatStringsSep ", " htypes.vias}.";
      };
      size = mkOption {
        type = types.nullOr types.int;
        default = null;
        description = "Size in bytes (expanded size for archives); null computes it for content and leaves it to image-creator (-1) for URLs, unless `hotspot.build.pins.files` pins the URL.";
      };
      checksum = mkOption {
        type = types.nullOr htypes.checksum;
        default = null;
        description = "Checksum of the download as declared; a pin replaces it in the recipe (and must agree with it).";
      };
      order = mkOption {
        type = earliest;
        default = h.order h.groups.extraFiles 0;
        description = ''
          Position in the recipe's `files` list (ascending; equal positions by path). The
          hotspot's own files follow offspot-config's order, by group × 100000: readers
          10, dashboard placeholder 20, ZIMs 30, kiwix 40, file browser 41, apps 50, files
          packages 60, `hotspot.files` 70, this default 75, metrics 80, offspot's branding
          90, branding 100, dashboard.yaml 110, offspot.json 120. With several
          definitions the smallest wins.
        '';
      };
      origin = mkOption {
        type = types.coercedTo types.str (s: [ s ]) (types.listOf types.str);
        default = [ ];
        description = "What asked for the file (for messages), e.g. `hotspot.files.x (defined in …)`.";
      };
    };
  };

  serviceType = types.attrsOf types.anything;

  files = cfg.build.files;
  paths = builtins.attrNames files;
  # A path several entries claim (other than the same placeholder asked for twice).
  claimedTwice = to: builtins.length (lib.unique files.${to}.origin) > 1;
  # write_config makes image-creator add /data/image.yaml itself.
  dupTargets = builtins.filter claimedTwice paths
    ++ lib.optional (cfg.writeConfig && files ? "/data/image.yaml") "/data/image.yaml";
  hexLen = { "sha-1" = 40; "sha-224" = 56; "sha-256" = 64; "sha-384" = 96; "sha-512" = 128; md5 = 32; adler32 = 8; };
  showOrigin = f: builtins.concatStringsSep ", " f.origin;
  # What image-creator rejects about one file. Files claimed twice are reported by the
  # duplicate check alone: their fields may conflict.
  fileAssertions = to:
    let f = files.${to}; ck = f.checksum; origin = showOrigin f; in
    lib.optionals (!claimedTwice to) [
      {
        assertion = lib.hasPrefix "/data/" to && builtins.match ".*(^|/)\\.\\.(/|$).*" to == null;
        message = "${origin}: target `${to}' must be a path under /data (without `..').";
      }
      {
        assertion = builtins.elem f.via htypes.vias;
        message = "${origin}: via `${f.via}' is not one of ${builtins.concatStringsSep ", " htypes.vias}.";
      }
      {
        assertion = f.url != null || f.via == "direct" || f.via == "base64";
        message = "${origin}: inline content can only be placed `direct' or `base64', not `${f.via}'.";
      }
      {
        assertion = f.url == null || builtins.match "(https?|file)://.+" f.url != null;
        message = "${origin}: URL `${toString f.url}' must start with http://, https:// or file://.";
      }
      {
        assertion = ck == null || builtins.elem ck.algo htypes.checksumAlgos;
        message = "${origin}: checksum algorithm `${ck.algo or ""}' is not one of ${builtins.concatStringsSep ", " htypes.checksumAlgos}.";
      }
      {
        assertion = ck == null || ck.kind != "digest" || !(hexLen ? ${ck.algo})
          || builtins.match "[0-9a-fA-F]{${toString hexLen.${ck.algo}}}" ck.value != null;
        message = "${origin}: ${ck.algo or ""} digest `${ck.value or ""}' must be ${toString (hexLen.${ck.algo or ""} or 0)} hex digits.";
      }
    ];
in
{
  options.hotspot.build = {
    files = mkOption {
      type = types.attrsOf (types.submodule fileSpec);
      default = { };
      internal = true;
      example = literalExpression ''{ "/data/contents/myapp/seed.json" = { content = builtins.toJSON { }; origin = "my app"; }; }'';
      description = "Every file of the image (recipe `files`), by target path under `/data`. Override one with `lib.mkForce` on its fields.";
    };
    services = mkOption {
      type = types.attrsOf serviceType;
      default = { };
      internal = true;
      example = { whoami = { image = "traefik/whoami:v1.10"; expose = [ "80" ]; }; };
      description = "docker-compose services of the runtime (`offspot.yaml` `containers.services`), by name. Add their images to `hotspot.build.ociImages`.";
    };
    ociImages = mkOption {
      type = types.attrsOf (types.submodule {
        options = {
          filesize = mkOption { type = types.ints.unsigned; description = "Size of the exported docker-archive tar (bytes)."; };
          fullsize = mkOption { type = types.ints.unsigned; description = "Size of the extracted image (bytes)."; };
        };
      });
      default = { };
      internal = true;
      description = "OCI images preloaded into the image (recipe `oci_images`), by reference; a pin in `hotspot.build.pins.oci` adds its digest.";
    };
    offspotConfig = mkOption {
      type = types.attrsOf types.anything;
      default = { };
      internal = true;
      description = "The runtime configuration (`offspot.yaml`, the recipe's `offspot` section); nested attribute sets merge, a key defined with a higher priority replaces it.";
    };
    dashboardEntries = mkOption {
      type = types.listOf (types.attrsOf types.anything);
      default = [ ];
      internal = true;
      description = "Cards of the dashboard (`home.yaml` `packages`): `{ ident, kind, title, description, languages, tags, icon, url, download? }`. ZIMs come first, then apps (`mkOrder 1100`), then files packages (`mkOrder 1200`); order yours with `mkBefore`/`mkAfter`/`mkOrder`.";
    };
    dashboard = mkOption {
      type = types.attrsOf types.raw;
      default = { };
      internal = true;
      description = "The dashboard's `home.yaml` (`metadata`, `packages`, `readers`, `links`), as the dashboard module assembles it.";
    };
    proxy = {
      services = mkOption {
        type = types.listOf types.str;
        default = [ ];
        internal = true;
        description = "Sub-domains the reverse proxy routes (`SERVICES`): `service` or `sub:service[:port]`; sorted, each once.";
      };
      files = mkOption {
        type = types.listOf (types.submodule {
          options = {
            domain = mkOption { type = types.str; description = "Sub-domain of the folder."; };
            folder = mkOption { type = types.str; description = "Folder under `/data/contents` the file browser shows."; };
          };
        });
        default = [ ];
        internal = true;
        description = "Folders the file browser serves at their own sub-domain (`FILES_MAPPING`, and the native proxy's `files`).";
      };
      protected = mkOption {
        type = types.listOf types.str;
        default = [ ];
        internal = true;
        description = "Services behind HTTP basic auth (`PROTECTED_SERVICES`): `service:user:password`; sorted.";
      };
    };
    pins = {
      files = mkOption {
        type = types.attrsOf (types.submodule {
          options = {
            sha256 = mkOption { type = htypes.sha256; description = "SHA-256 of the download."; };
            size = mkOption { type = types.ints.unsigned; description = "Size of the download (bytes)."; };
          };
        });
        default = { };
        internal = true;
        description = "Pinned downloads by URL (the lock file's `files`): their recipe entries get this `sha-256` digest and size.";
      };
      oci = mkOption {
        type = types.attrsOf (types.submodule {
          options = {
            digest = mkOption { type = types.str; description = "Manifest digest (`sha256:…`)."; };
            filesize = mkOption { type = types.ints.unsigned; description = "docker-archive tar size (bytes)."; };
            fullsize = mkOption { type = types.ints.unsigned; description = "Extracted size (bytes)."; };
          };
        });
        default = { };
        internal = true;
        description = "Pinned OCI images by reference (the lock file's `oci`): recipe `<ident>@<digest>` with these sizes.";
      };
    };
  };

  config.assertions = builtins.concatMap fileAssertions paths ++ [
    {
      assertion = dupTargets == [ ];
      message = "Several files have the same target: ${builtins.concatStringsSep ", " dupTargets} (from ${builtins.concatStringsSep ", " (map (to: showOrigin files.${to}) dupTargets)}). To replace another module's file, define its fields with lib.mkForce.";
    }
  ];
}
