# The hotspot's own services: dashboard, captive portal, reverse proxy, kiwix-serve,
# file browser, ZIM manager, admin UI, metrics, hardware clock; their images; extra
# services. Each enabled service contributes its compose service (offspot-config's
# ConfigBuilder.add_*), image, files and routes; the dashboard assembles home.yaml from
# the cards the content and apps contribute, the reverse proxy its routes from theirs.
{ config, options, lib, ... }:
let
  inherit (lib) mkOption mkEnableOption mkIf mkMerge mkDefault types literalExpression optional optionals optionalAttrs;
  htypes = import ./types.nix lib;
  h = import ./helpers.nix lib;
  catalog = import ../catalog.nix;
  cfg = config.hotspot;
  inherit (h) contents zimDir brandingPath originalBrandingPath metricsDataPath bind;
  fqdn = cfg.fqdn;

  withKiwix = cfg.kiwix.enable;
  withZimDownloads = withKiwix && cfg.dashboard.allowZimDownloads;
  withFiles = withZimDownloads || cfg.build.proxy.files != [ ];
  withDashboard = cfg.dashboard.enable || cfg.metrics.enable;
  native = cfg.base.providesInternalServices;
  apAddress = if cfg.ap.address != null then cfg.ap.address else "192.168.144.1";

  image = key: cfg.images.${key} or (throw "hotspot.images.${key} is not defined");
  # The ZIM manager is the catalog's file-manager image (as in offspot's builder).
  zimManagerImage = {
    ident = catalog.packages."file-manager.offspot.kiwix.org".image;
    filesize = catalog.packages."file-manager.offspot.kiwix.org".imageFilesize;
    fullsize = catalog.packages."file-manager.offspot.kiwix.org".imageFullsize;
  };
  brandingBinds = prefix: origPrefix: [
    (bind brandingPath prefix true)
    (bind originalBrandingPath origPrefix true)
  ];
  common = name: key: {
    image = (image key).ident;
    container_name = name;
    pull_policy = "never";
    restart = "unless-stopped";
  };

  # ConfigBuilder.add_* : the compose service of each enabled built-in service.
  builtinServices =
    optionalAttrs withDashboard {
      home = common "home" "dashboard" // {
        expose = [ "80" ];
        environment = {
          KIWIX_READER_LINK_TPL = "//browse.{fqdn}/viewer#{libkiwix_path}";
          KIWIX_DOWNLOAD_LINK_TPL = "//zim-download.{fqdn}/{zim_filename}";
        };
        volumes = [
          (bind "${contents}/dashboard.yaml" "/src/home.yaml" false)
          (bind zimDir "/data/zims" true)
        ] ++ brandingBinds "/var/www/branding" "/var/www/offspot.branding";
      };
    }
    // optionalAttrs cfg.captivePortal.enable {
      home-portal = (common "home-portal" "captive-portal") // {
        network_mode = "host";
        cap_add = [ "NET_ADMIN" ];
        environment = {
          HOTSPOT_NAME = cfg.name;
          HOTSPOT_IP = apAddress;
          HOTSPOT_FQDN = fqdn;
          CAPTURED_NETWORKS = builtins.concatStringsSep "," cfg.captivePortal.capturedNetworks;
          TIMEOUT = toString cfg.captivePortal.timeout;
          FILTER_MODULE = "portal_filter";
        } // optionalAttrs (cfg.captivePortal.footerNote != null) { FOOTER_NOTE = cfg.captivePortal.footerNote; };
        expose = [ "2080" "2443" ];
        volumes = [ (bind "/var/run/internet" "/var/run/internet" true) ]
          ++ brandingBinds "/src/portal/branding" "/src/portal/offspot.branding";
      };
    }
    // optionalAttrs cfg.reverseProxy.enable {
      reverse-proxy = (common "reverse-proxy" "reverse-proxy") // {
        environment = {
          FQDN = fqdn;
          WELCOME_FQDN = "${cfg.welcomeDomain}.${cfg.tld}";
          METRICS_LOGS_DIR = "/var/log/host/metrics";
          SERVICES = builtins.concatStringsSep "," (builtins.sort (a: b: a < b) (lib.unique cfg.build.proxy.services));
          NO_HOME_SERVICES = "browse";
          FILES_MAPPING = builtins.concatStringsSep "," (
            optional withZimDownloads "zim-download:zims"
            ++ map (f: "${f.domain}:${f.folder}") cfg.build.proxy.files);
          PROTECTED_SERVICES = builtins.concatStringsSep "," (lib.sortOn (x: x) cfg.build.proxy.protected);
        };
        ports = [ "80:80" "443:443" ];
        volumes = [ (bind "/var/log" "/var/log/host/metrics" false) ]
          ++ brandingBinds "/var/www/branding" "/var/www/offspot.branding";
      };
    }
    // optionalAttrs withKiwix {
      kiwix = (common "kiwix" "kiwix-serve") // {
        expose = [ "80" ];
        volumes = [ (bind zimDir "/data" true) ] ++ brandingBinds "/branding" "/offspot.branding";
        command = "kiwix-serve-zims --blockexternal --port 80 --nodatealiases";
      };
    }
    // optionalAttrs withFiles {
      files = (common "files" "file-browser") // {
        expose = [ "80" ];
        volumes = [ (bind contents "/data" true) ] ++ brandingBinds "/branding" "/offspot.branding";
      };
    }
    // optionalAttrs cfg.zimManager.enable {
      zim-manager = {
        image = zimManagerImage.ident;
        container_name = "zim-manager";
        pull_policy = "never";
        restart = "unless-stopped";
        expose = [ "80" ];
        environment = {
          ACCESS_MODE = "manager";
          ADMIN_USERNAME = cfg.admin.username;
          ADMIN_PASSWORD = cfg.admin.password;
          APP_URL = "http://zim-manager.${fqdn}";
        };
        volumes = [ (bind zimDir "/data" false) ];
      };
    }
    // optionalAttrs cfg.adminUI.enable {
      adminui = (common "adminui" "adminui") // {
        expose = [ "80" ];
        environment = {
          ADMIN_USERNAME = cfg.admin.username;
          ADMIN_PASSWORD = cfg.admin.password;
        };
        volumes = [
          (bind "/etc/docker/compose.yml" "/etc/docker/compose.yml" true)
          (bind "/boot/firmware" "/boot/firmware" false)
          (bind "/etc/hostapd" "/etc/hostapd" true)
          (bind "/etc/offspot" "/etc/offspot" true)
          (bind "/run/offspot" "/run/offspot" false)
        ] ++ brandingBinds "/var/www/static/branding" "/var/www/offspot.branding";
      };
    }
    // optionalAttrs cfg.metrics.enable {
      metrics = (common "metrics" "metrics") // {
        depends_on.home = { condition = "service_healthy"; restart = true; };
        environment = {
          ALLOWED_ORIGINS = "http://metrics|http://metrics.${fqdn}";
          PACKAGE_CONF_FILE = "/conf/packages.yaml";
          DATABASE_URL = "sqlite+pysqlite:////data/database.db";
          LOGWATCHER_DATA_FOLDER = "/data/logwatcher";
          REVERSE_PROXY_LOGS_LOCATION = "/var/log/host/metrics";
          REVERSE_PROXY_LOGS_PATTERN = "metrics*.json";
        };
        expose = [ "80" ];
        volumes = [
          (bind "/var/log" "/var/log/host/metrics" false)
          (bind metricsDataPath "/data" false)
          (bind "${contents}/dashboard.yaml" "/conf/packages.yaml" true)
        ] ++ brandingBinds "/src/ui/branding" "/src/ui/offspot.branding";
      };
    }
    // optionalAttrs cfg.hwclock.enable {
      hwclock = (common "hwclock" "hwclock") // {
        read_only = true;
        expose = [ "80" ];
        privileged = true;
        volumes = brandingBinds "/src/branding" "/src/offspot.branding";
      };
    };

  # The images of the services above; nixspot's base image runs the internal ones
  # natively, so it does not need theirs.
  usedImages =
    optionals (!native) (
      optional withDashboard (image "dashboard")
      ++ optional cfg.captivePortal.enable (image "captive-portal")
      ++ optional cfg.reverseProxy.enable (image "reverse-proxy")
      ++ optional withKiwix (image "kiwix-serve")
      ++ optional withFiles (image "file-browser")
      ++ optional cfg.zimManager.enable zimManagerImage)
    ++ optional cfg.adminUI.enable (image "adminui")
    ++ optional cfg.metrics.enable (image "metrics")
    ++ optional cfg.hwclock.enable (image "hwclock");

  # nixspot's base image runs the services natively (nixspot-runtime's `services` key).
  nativeServices = {
    kiwix = withKiwix;
    dashboard = withDashboard;
    portal =
      if cfg.captivePortal.enable then
        {
          name = cfg.name;
          timeout = cfg.captivePortal.timeout;
          captured-networks = cfg.captivePortal.capturedNetworks;
        } // lib.filterAttrs (n: v: v != null) { footer-note = cfg.captivePortal.footerNote; inherit (cfg) language; }
      else false;
    proxy =
      if cfg.reverseProxy.enable then
        { zim-download = withZimDownloads; }
        // optionalAttrs (cfg.build.proxy.files != [ ]) {
          files = builtins.listToAttrs (map
            (f: { name = f.domain; value = "${contents}/${f.folder}"; })
            cfg.build.proxy.files);
        }
      else false;
  };

  # Kiwix readers offered on the dashboard, in offspot's platform order.
  platformOrder = p: { windows = 0; android = 1; macos = 2; linux = 3; }.${p} or 4;
  readers = builtins.sort (a: b: platformOrder a.platform < platformOrder b.platform) cfg.dashboard.readers;
  readerFile = i: r: h.file {
    to = "${zimDir}/${r.filename}";
    order = h.order h.groups.readers i;
    origin = "hotspot.dashboard.readers ${h.where options.hotspot.dashboard.readers}";
    inherit (r) url size;
    checksum = h.checksumOf r;
  };
  downloadFqdn = "zim-download.${fqdn}";

  # The dashboard's home.yaml.
  dashboard = {
    metadata = { name = cfg.name; inherit fqdn; version = cfg.publicVersion; }
      // optionalAttrs (cfg.dashboard.footerNote != null) { footer_note = cfg.dashboard.footerNote; }
      // optionalAttrs (cfg.language != null) { inherit (cfg) language; };
    packages = cfg.build.dashboardEntries;
  } // optionalAttrs (readers != [ ]) {
    readers = map
      (r:
        let p = h.pinned cfg.build.pins.files { inherit (r) url size; checksum = h.checksumOf r; }; in
        {
          inherit (r) platform filename;
          download_url = "//${downloadFqdn}/${r.filename}";
          inherit (p) size;
        } // optionalAttrs (p.checksum != null) { inherit (p) checksum; })
      readers;
  } // optionalAttrs (cfg.dashboard.links != [ ]) {
    links = map (l: { inherit (l) label icon; url = (h.variables cfg).resolve l.url; }) cfg.dashboard.links;
  };

  clashingServices = builtins.attrNames (builtins.intersectAttrs builtinServices cfg.containers.extraServices);
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

  config = {
    hotspot.build = {
      services = builtinServices // cfg.containers.extraServices;
      ociImages = mkMerge (map (i: { ${i.ident} = { inherit (i) filesize fullsize; }; }) usedImages);
      offspotConfig = mkMerge [
        {
          containers = { name = "offspot"; services = cfg.build.services; };
          services = mkIf native nativeServices;
        }
        # Written as given, each key replacing the generated one of the same name.
        (builtins.mapAttrs (n: v: lib.mkOverride 50 v) cfg.extraOffspotConfig)
      ];
      dashboard = dashboard;
      proxy.services =
        optionals withKiwix [ "browse:kiwix" ]
        ++ optional cfg.zimManager.enable "zim-manager"
        ++ optional cfg.adminUI.enable "admin:adminui"
        ++ optional cfg.metrics.enable "metrics"
        ++ optional cfg.hwclock.enable "hwclock"
        ++ optional (cfg.build.proxy.files != [ ]) "files";
      proxy.protected = optional cfg.hwclock.enable "hwclock:${cfg.admin.username}:${cfg.admin.password}";
      files = mkMerge (
        optionals withDashboard (lib.imap0 readerFile readers ++ [
          (h.touch (h.order h.groups.dashboardPlaceholder 0) zimDir)
          (h.file {
            to = "${contents}/dashboard.yaml";
            order = h.order h.groups.dashboard 0;
            origin = "hotspot.dashboard";
            content = lib.toPrettyJSON { } cfg.build.dashboard + "\n";
          })
        ])
        ++ optional withKiwix (h.touch (h.order h.groups.kiwixPlaceholder 0) zimDir)
        ++ optional withFiles (h.touch (h.order h.groups.filesPlaceholder 0) contents)
        ++ optional cfg.metrics.enable (h.touch (h.order h.groups.metrics 0) "${metricsDataPath}/logwatcher"));
    };

    # The captive portal captures a dedicated DHCP range inside the /24 (ConfigBuilder).
    hotspot.ap = mkIf cfg.captivePortal.enable {
      dhcpRange = mkDefault "192.168.144.129,192.168.144.254,255.255.255.0,1h";
      network = mkDefault "192.168.144.0/24";
      address = mkDefault "192.168.144.1";
      asGateway = mkDefault true;
    };

    warnings =
      optional ((cfg.adminUI.enable || cfg.hwclock.enable) && cfg.admin.password == "")
        "hotspot.admin.password is empty, but the admin UI or the hardware clock are enabled."
      ++ optional (cfg.captivePortal.enable && cfg.ap.address != null && cfg.ap.address != "192.168.144.1")
        "hotspot.ap.address is ${cfg.ap.address}, but the captive portal captures 192.168.144.128/25.";

    assertions = [
      {
        assertion = cfg.reverseProxy.enable || cfg.build.services == { };
        message = "hotspot.reverseProxy.enable ${h.where options.hotspot.reverseProxy.enable}: the runtime needs a service publishing port 80; keep the reverse proxy when running containers.";
      }
      {
        assertion = !cfg.metrics.enable || cfg.dashboard.enable;
        message = "hotspot.metrics.enable ${h.where options.hotspot.metrics.enable}: metrics needs the dashboard (hotspot.dashboard.enable).";
      }
      {
        assertion = clashingServices == [ ];
        message = "hotspot.containers.extraServices ${h.where options.hotspot.containers.extraServices}: ${builtins.concatStringsSep ", " clashingServices} would replace built-in services; choose other names.";
      }
    ];
  };
}
