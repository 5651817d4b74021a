# The outputs: the image-creator recipe (as offspot-config's ConfigBuilder renders it),
# its `offspot.yaml` runtime section and the dashboard's home.yaml, serialised from what
# the concern modules contribute to `hotspot.build` (build.nix). Evaluating an output
# fails with every failed assertion first.
{ config, lib, ... }:
let
  inherit (lib) mkOption types optionalAttrs;
  h = import ./helpers.nix lib;
  cfg = config.hotspot;
  resolved = h.resolved cfg.build;

  # A pinned release is written as its URL, so that the pin applies to the exact bytes.
  baseCatalog = (import ../catalog.nix).baseImages;
  baseUrl = if baseCatalog ? ${cfg.base.source} then baseCatalog.${cfg.base.source}.url else cfg.base.source;
  basePinned = cfg.build.pins.files ? ${baseUrl};
  baseChecksum = (h.pinned cfg.build.pins.files { url = baseUrl; checksum = h.checksumOf cfg.base; }).checksum;

  recipe = {
    base = {
      source = if basePinned then baseUrl else cfg.base.source;
      rootfs_size = cfg.base.rootfsSize;
    } // optionalAttrs (baseChecksum != null) { checksum = baseChecksum; };
    output = { size = cfg.output.size; } // optionalAttrs cfg.output.compress { compress = true; };
    oci_images = resolved.ociImages;
    inherit (resolved) files;
    write_config = cfg.writeConfig;
    offspot = cfg.build.offspotConfig;
  };
in
{
  imports = [ lib.assertionsModule ];

  options.build = {
    recipe = mkOption {
      type = types.unspecified;
      readOnly = true;
      description = "The image-creator recipe (`base`, `output`, `oci_images`, `files`, `write_config`, `offspot`). Evaluating it fails with every failed assertion first.";
    };
    offspotConfig = mkOption {
      type = types.unspecified;
      readOnly = true;
      description = "The recipe's `offspot` section: the runtime configuration written to `/boot/firmware/offspot.yaml`.";
    };
    dashboard = mkOption {
      type = types.unspecified;
      readOnly = true;
      description = "The dashboard's home.yaml, as data (`/data/contents/dashboard.yaml` holds it as JSON, which is YAML).";
    };
  };

  config.build = {
    recipe = lib.checkAssertions config recipe;
    offspotConfig = lib.checkAssertions config cfg.build.offspotConfig;
    dashboard = lib.checkAssertions config cfg.build.dashboard;
  };
}
