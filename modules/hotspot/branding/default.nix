# Branding: offspot's original logos (always written to `/data/branding/`) and the
# files replacing them (`hotspot.branding`, written to `/data/contents/branding/`), which
# every service mounts.
{ config, options, lib, ... }:
let
  inherit (lib) mkOption mkMerge types literalExpression;
  h = import ../helpers.nix lib;
  cfg = config.hotspot;
  inherit (h) brandingPath originalBrandingPath;

  # offspot's branding, as base64 files (`<name>.b64`) beside this module.
  originalFiles = lib.imap0
    (i: f:
      let
        name = lib.removeSuffix ".b64" f;
        data = builtins.readFile (./. + "/${f}");
      in
      h.file {
        to = "${originalBrandingPath}/${name}";
        order = h.order h.groups.originalBranding (i + 1);
        origin = "offspot's branding";
        content = data;
        via = "base64";
        size = h.base64Size data;
      })
    (builtins.filter (lib.hasSuffix ".b64") (builtins.attrNames (builtins.readDir ./.)));
  customFiles = lib.imap0
    (i: name:
      let b = cfg.branding.${name}; order = h.order h.groups.branding (i + 1); in
      if b.base64 != null then
        h.file { to = "${brandingPath}/${name}"; inherit order; origin = "hotspot.branding.${lib.showOptionPart name}"; content = b.base64; via = "base64"; size = h.base64Size b.base64; }
      else
        h.file { to = "${brandingPath}/${name}"; inherit order; origin = h.originOf options "branding" name; content = if b.text != null then b.text else ""; })
    (builtins.attrNames cfg.branding);
in
{
  options.hotspot = {
    branding = mkOption {
      type = types.attrsOf (types.submodule {
        options = {
          base64 = mkOption {
            type = types.nullOr types.str;
            default = null;
            description = "Base64 content of a binary file (PNG).";
          };
          text = mkOption {
            type = types.nullOr types.str;
            default = null;
            description = "Text content (SVG).";
          };
        };
      });
      default = { };
      example = literalExpression ''{ "square-logo.svg".text = builtins.readFile ./logo.svg; }'';
      description = "Branding files replacing the defaults, by file name (`horizontal-logo.svg`, `square-logo.svg`, `*-dark.png`, `*-light.png`), written to `/data/contents/branding/`. offspot's original branding always goes to `/data/branding/`.";
    };

  };

  config = {
    hotspot.build.files = mkMerge (
      [ (h.touch (h.order h.groups.originalBranding 0) originalBrandingPath) ] ++ originalFiles
      ++ [ (h.touch (h.order h.groups.branding 0) brandingPath) ] ++ customFiles);

    assertions = map
      (name: {
        assertion = (cfg.branding.${name}.base64 == null) != (cfg.branding.${name}.text == null);
        message = "${h.originOf options "branding" name}: set exactly one of base64 and text.";
      })
      (builtins.attrNames cfg.branding);
  };
}
