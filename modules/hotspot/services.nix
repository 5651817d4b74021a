# The hotspot's own services: dashboard, captive portal, reverse proxy, kiwix-serve,
# ZIM manager, admin UI, metrics, hardware clock; their images; branding; extra services.
{ config, lib, ... }:
let
  inherit (lib) mkOption mkEnableOption types literalExpression;
  htypes = import ./types.nix lib;
  catalog = import ../catalog.nix;
  cfg = config.hotspot;
in
{
  options.hotspot = {
    dashboard = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Whether to run the dashboard (service `home`) at `<fqdn>`.";
      };
      allowZimDownloads = mkOption {
        type = types.bool;
        default = true;
        description = "Whether visitors may download the ZIM files (served at `zim-download.<fqdn>`).";
      };
      footerNote = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "Offline library of the Mbour school";
        description = "Note in the dashboard's footer (home.yaml `metadata.footer_note`).";
      };
      readers = mkOption {
        type = types.listOf (types.submodule {
          options = {
            platform = mkOption {
              type = types.enum [ "windows" "android" "macos" "linux" ];
              description = "Platform of the reader.";
            };
            url = mkOption {
              type = types.str;
              description = "Download URL of the reader.";
            };
            filename = mkOption {
              type = types.str;
              description = "File name under `/data/contents/zims/`.";
            };
            size = mkOption {
              type = types.nullOr types.ints.unsigned;
              default = null;
              description = "Size in bytes (a lock file pins it).";
            };
            sha256 = mkOption {
              type = types.nullOr htypes.sha256;
              default = null;
              description = "SHA-256 of the reader.";
            };
          };
        });
        default = [ ];
        description = "Kiwix readers offered for download on the dashboard.";
      };
      links = mkOption {
        type = types.listOf (types.submodule {
          options = {
            label = mkOption { type = types.str; description = "Link text."; };
            url = mkOption { type = types.str; description = "Target; `\${FQDN}` is replaced."; };
            icon = mkOption { type = types.str; default = ""; description = "FontAwesome 6 icon name (shows a lock)."; };
          };
        });
        default = [ ];
        example = [{ label = "Admin"; url = "//admin.\${FQDN}"; icon = "lock"; }];
        description = "Links in the dashboard's footer.";
      };
    };

    captivePortal = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Whether new WiFi clients first see the captive portal (service `home-portal`). It sets the AP's address, network, DHCP range and gateway mode.";
      };
      timeout = mkOption {
        type = types.ints.positive;
        default = 60;
        description = "Minutes a registered client stays registered.";
      };
      footerNote = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "Operated by the Mbour library";
        description = "Note in the portal's footer (`FOOTER_NOTE`).";
      };
      capturedNetworks = mkOption {
        type = types.nonEmptyListOf (types.strMatching "[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}");
        default = [ "192.168.144.128/25" ];
        example = [ "192.168.144.0/24" ];
        description = "Client networks (CIDR) the portal captures until they register (`CAPTURED_NETWORKS`); the default is the AP's DHCP range.";
      };
    };

    reverseProxy.enable = mkOption {
      type = types.bool;
      default = true;
      description = "Whether to run the reverse proxy (Caddy) that publishes ports 80/443 and routes `<service>.<fqdn>`. The runtime requires a service on port 80.";
    };

    kiwix.enable = mkOption {
      type = types.bool;
      default = cfg.zims != { };
      defaultText = literalExpression "hotspot.zims != { }";
      description = "Whether to run kiwix-serve (at `browse.<fqdn>`).";
    };

    zimManager.enable = mkOption {
      type = types.bool;
      default = cfg.kiwix.enable;
      defaultText = literalExpression "hotspot.kiwix.enable";
      description = "Whether to run the ZIM manager (at `zim-manager.<fqdn>`, admin credentials), as offspot's builder always does with kiwix.";
    };

    adminUI.enable = mkEnableOption "the admin UI at `admin.<fqdn>`";
    metrics.enable = mkEnableOption "the metrics service at `metrics.<fqdn>` (needs the dashboard)";
    hwclock.enable = mkEnableOption "the hardware-clock service at `hwclock.<fqdn>` (password-protected)";

    images = mkOption {
      type = types.attrsOf (types.submodule {
        options = {
          ident = mkOption { type = types.str; description = "Image reference."; };
          filesize = mkOption { type = types.ints.unsigned; description = "docker-archive tar size (bytes)."; };
          fullsize = mkOption { type = types.ints.unsigned; description = "Extracted size (bytes)."; };
        };
      });
      default = catalog.internalImages;
      defaultText = literalExpression "(import modules/catalog.nix).internalImages";
      description = "Images of the internal services (captive-portal, dashboard, adminui, file-browser, hwclock, kiwix-serve, metrics, reverse-proxy).";
    };

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

    extraOffspotConfig = mkOption {
      type = types.attrsOf types.anything;
      default = { };
      example = { timezone = "Africa/Dakar"; };
      description = "Keys merged last into `offspot.yaml` (the runtime's configuration) as written, replacing generated keys of the same name: for runtime settings no option covers.";
    };

    containers.extraServices = mkOption {
      type = types.attrsOf (types.attrsOf types.anything);
      default = { };
      example = { whoami = { image = "traefik/whoami:v1.10"; expose = [ "80" ]; }; };
      description = "Additional docker-compose services, merged into `offspot.containers.services` as written. Add their images to `hotspot.ociImages`.";
    };
  };
}
