# Base image, output image and recipe-level switches (recipe `base`, `output`,
# `write_config`), and the checks on them: a known base source, and an image that fits
# the SD card it is made for.
{ config, options, lib, ... }:
let
  h = import ./helpers.nix lib;
  cfg = config.hotspot;
  inherit (lib) mkOption types literalExpression;
  catalog = import ../catalog.nix;
  htypes = import ./types.nix lib;
  src = config.hotspot.base.source;
  known =
    if src == "nixspot:base" then { rootfsSize = catalog.nixspotBase.rootfsSize; }
    else if catalog.baseImages ? ${src} then catalog.baseImages.${src}
    else lib.findFirst (b: b.url == src) null (builtins.attrValues catalog.baseImages);
  sdCard = config.hotspot.output.sdCard;
  card = if sdCard == null then null else lib.findFirst (c: c.name == sdCard) null catalog.sdCards;
in
{
  options.hotspot = {
    base = {
      source = mkOption {
        type = types.str;
        default = "1.4.2";
        example = "https://drive.offspot.it/base/offspot-base-arm64-1.4.2.img";
        description = ''
          The base image: an offspot release version (`"1.4.2"`: image-creator downloads
          `https://drive.offspot.it/base/offspot-base-arm64-<v>.img` and checks its `.md5`),
          a URL (`https://…`, `file://…`; `.xz` is decompressed), or `"nixspot:base"` for
          nixspot's own base image (built from pinned Debian packages; only nixspot can
          assemble such a recipe).
        '';
      };
      rootfsSize = mkOption {
        type = types.ints.positive;
        default = if known != null then known.rootfsSize else throw "The option `hotspot.base.rootfsSize' is used but not defined: `hotspot.base.source' (${builtins.toJSON src}, defined in ${lib.showFiles options.hotspot.base.source.files}) is not a known base image, so its rootfs size must be given.";
        defaultText = literalExpression "the known size for offspot releases and nixspot:base";
        example = 3716153344;
        description = "Size in bytes of everything the base image holds before the data partition (recipe `base.rootfs_size`), used to compute `output.size = auto`.";
      };
      providesInternalServices = mkOption {
        type = types.bool;
        default = src == "nixspot:base";
        defaultText = literalExpression ''hotspot.base.source == "nixspot:base"'';
        description = ''
          Whether the base image runs the dashboard, captive portal, reverse proxy,
          kiwix-serve, file browser and ZIM manager natively. nixspot's base image does
          (it has no container engine): their images are then left out of `oci_images`,
          while `offspot.containers` still describes the services and their settings.
        '';
      };
      sha256 = mkOption {
        type = types.nullOr htypes.sha256;
        default = null;
        example = "0000000000000000000000000000000000000000000000000000000000000000";
        description = "SHA-256 of the base image file (shorthand for a `checksum` of algo `sha-256`).";
      };
      checksum = mkOption {
        type = types.nullOr htypes.checksum;
        default = null;
        example = { algo = "md5"; kind = "url"; value = "https://drive.offspot.it/base/offspot-base-arm64-1.4.2.img.md5"; };
        description = "Checksum of the base image (recipe `base.checksum`).";
      };
    };

    output = {
      size = mkOption {
        type = types.either (types.enum [ "auto" ]) htypes.size;
        default = if card != null then card.usable else "auto";
        defaultText = literalExpression ''"auto", or the usable bytes of `hotspot.output.sdCard`'';
        example = "8G";
        description = "Size of the image: `\"auto\"` (the smallest that fits: rootfs + content + 10 %), bytes, or a size string like `\"8G\"`.";
      };
      sdCard = mkOption {
        type = types.nullOr (types.enum (map (c: c.name) catalog.sdCards));
        default = null;
        example = "32GB";
        description = ''
          Make the image for this SD card: `output.size` becomes the card's usable capacity
          (${builtins.concatStringsSep ", " (map (c: "${c.name}: ${toString c.usable} bytes") catalog.sdCards)};
          the Kiwix Imager Service's table), and evaluation fails when the hotspot's
          estimated size (`nixspot size`) is larger.
        '';
      };
      compress = mkOption {
        type = types.bool;
        default = false;
        description = "Recipe `output.compress` (accepted, unused by image-creator).";
      };
    };

    writeConfig = mkOption {
      type = types.bool;
      default = false;
      example = true;
      description = "Whether the image keeps a copy of its recipe as `/data/image.yaml` (recipe `write_config`).";
    };

  };

  config.assertions = [
    {
      assertion = builtins.match "nixspot:base|[0-9]\\.[0-9]\\.[0-9][a-z0-9._-]*|(https?|file)://.+" cfg.base.source != null;
      message = "hotspot.base.source ${h.where options.hotspot.base.source}: ${builtins.toJSON cfg.base.source} is neither an offspot release (X.Y.Z), a URL, nor \"nixspot:base\".";
    }
    (
      let
        estimate = h.sizeEstimate cfg.base.rootfsSize (h.resolved cfg.build);
        fitting = lib.findFirst (c: c.usable >= estimate.total) null catalog.sdCards;
      in
      {
        assertion = card == null || estimate.total <= card.usable;
        message = "hotspot.output.sdCard ${h.where options.hotspot.output.sdCard}: the image needs ${toString estimate.total} bytes (base ${toString estimate.base} + content ${toString estimate.content} + images ${toString estimate.images} + slack ${toString estimate.slack}), more than the ${card.name or ""} card's ${toString (card.usable or 0)} usable bytes; "
          + (if fitting == null then "no common card is large enough." else "the smallest card it fits is ${fitting.name}.");
      }
    )
  ];
}
