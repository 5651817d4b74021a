# The outputs: the image-creator recipe (as offspot-config's ConfigBuilder renders it),
# the offspot.yaml runtime section, the dashboard's home.yaml — and the assertions that
# mirror image-creator's and the runtime's validation, so mistakes fail at evaluation.
{ config, options, lib, ... }:
let
  inherit (lib) mkOption types optional optionals optionalAttrs concatMap mapAttrsToList
    filterAttrs hasPrefix unique uniqueBy sortOn duplicates;
  htypes = import ./types.nix lib;
  cfg = config.hotspot;
  fqdn = cfg.fqdn;

  # ---- paths (offspot-config's constants) ----
  contents = "/data/contents";
  zimDir = "${contents}/zims";
  brandingPath = "${contents}/branding";
  originalBrandingPath = "/data/branding";
  metricsDataPath = "${contents}/metrics";

  # Where an option was defined, for assertion messages.
  where = opt:
    let files = opt.files or [ ]; in
    if files == [ ] then "(default)" else "(defined in ${lib.showFiles files})";
  # `hotspot.<collection>.<name> (defined in …)` for messages about one entry.
  originOf = collection: name:
    "hotspot.${collection}.${lib.showOptionPart name} ${where options.hotspot.${collection}}";

  # ---- lock file ----
  lock =
    if cfg.lockFile == null then { version = 1; files = { }; oci = { }; }
    else builtins.fromJSON (builtins.readFile cfg.lockFile);
  lockFiles = lock.files or { };
  lockOci = lock.oci or { };

  # ---- files ----
  # One recipe `files` entry plus what we know about where it comes from.
  checksumOf = item:
    if (item.sha256 or null) != null then { algo = "sha-256"; kind = "digest"; value = item.sha256; }
    else if (item.checksum or null) != null then { inherit (item.checksum) algo kind value; }
    else if (item.checksumUrl or null) != null then {
      algo = { md5 = "md5"; sha1 = "sha-1"; sha256 = "sha-256"; sha512 = "sha-512"; }.${lib.last (lib.splitString "." item.checksumUrl)};
      kind = "url";
      value = item.checksumUrl;
    }
    else null;

  # A download: pinned from the lock file when it lists the URL.
  urlFile = { to, url, via ? "direct", size ? null, checksum ? null, origin }:
    let
      pin = lockFiles.${url} or null;
      finalChecksum = if pin != null then { algo = "sha-256"; kind = "digest"; value = pin.sha256; } else checksum;
      finalSize = if pin != null then pin.size else if size != null then size else -1;
    in
    {
      entry = { inherit to url via; size = finalSize; } // optionalAttrs (finalChecksum != null) { checksum = finalChecksum; };
      inherit origin url pin size checksum;
    };

  contentFile = { to, content, via ? "direct", size ? null, origin }: {
    entry = { inherit to content via; size = if size != null then size else builtins.stringLength content; };
    inherit origin;
    url = null;
    pin = null;
  };

  touch = dir: contentFile { to = "${dir}/.touch"; content = "-"; size = 1; origin = "placeholder for ${dir}"; };

  # ---- variables in catalog values (ConfigBuilder.resolved_variable) ----
  environ = cfg.environment // {
    ADMIN_USERNAME = cfg.admin.username;
    ADMIN_PASSWORD = cfg.admin.password;
  };
  environNames = builtins.attrNames environ;
  resolve = text: builtins.replaceStrings
    ((map (n: "$environ{${n}}") environNames) ++ [ "\${FQDN}" "\${REVERSE_NAME}" "\${BRANDING_PATH}" "\${ORIGINAL_BRANDING_PATH}" ])
    ((map (n: environ.${n}) environNames) ++ [ fqdn "reverse-proxy" brandingPath originalBrandingPath ])
    text;
  resolveFor = ident: app: text: builtins.replaceStrings
    [ "\${APP_DIR}" "\${PACKAGE_IDENT}" "\${PACKAGE_DOMAIN}" "\${PACKAGE_FQDN}" ]
    [ "${contents}/${ident}" ident app.domain "${app.domain}.${fqdn}" ]
    (resolve text);

  # ---- what is enabled ----
  zimNames = builtins.attrNames cfg.zims;
  zims = map (n: cfg.zims.${n} // { _name = n; }) zimNames;
  apps = builtins.filter (a: a.enable) (mapAttrsToList (ident: a: a // { inherit ident; }) cfg.apps);
  filesPackages = builtins.filter (p: p.enable) (mapAttrsToList (ident: p: p // { inherit ident; }) cfg.filesPackages);
  withKiwix = cfg.kiwix.enable;
  withZimDownloads = withKiwix && cfg.dashboard.allowZimDownloads;
  withFiles = withZimDownloads || filesPackages != [ ];
  withDashboard = cfg.dashboard.enable || cfg.metrics.enable;

  # ---- internal images ----
  image = key: cfg.images.${key} or (throw "hotspot.images.${key} is not defined");

  # ---- compose services (ConfigBuilder.add_*) ----
  bind = source: target: readOnly: { type = "bind"; inherit source target; read_only = readOnly; };
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

  appDir = app: "${contents}/${app.ident}";
  appVolumes = app: map
    (v:
      let
        parts = lib.splitString ":" v;
        host = resolveFor app.ident app (builtins.elemAt parts 0);
        ctr = builtins.elemAt parts 1;
        ro = builtins.length parts > 2 && lib.hasInfix "ro" (builtins.elemAt parts 2);
      in
      { inherit host ctr ro; })
    app.volumes;

  services = builtinServices // cfg.containers.extraServices;
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
          SERVICES = builtins.concatStringsSep "," reversedServices;
          NO_HOME_SERVICES = "browse";
          FILES_MAPPING = builtins.concatStringsSep "," filesMapping;
          PROTECTED_SERVICES = builtins.concatStringsSep "," protectedServices;
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
    }
    // builtins.listToAttrs (map
      (app: {
        name = app.domain;
        value = {
          image = app.image;
          container_name = app.domain;
          pull_policy = "never";
          restart = "unless-stopped";
          expose = [ "80" ];
          environment =
            builtins.mapAttrs (n: v: resolveFor app.ident app v) app.environ
            // builtins.listToAttrs (mapAttrsToList
              (global: local: { name = local; value = resolveFor app.ident app (environ.${global} or ""); })
              app.environMap)
            // builtins.mapAttrs (n: v: resolveFor app.ident app v) app.environment;
          volumes = map (v: bind v.host v.ctr v.ro) (appVolumes app);
        } // optionalAttrs (app.links != [ ]) { links = map (resolveFor app.ident app) app.links; };
      })
      apps);

  # The ZIM manager is the catalog's file-manager image (as in offspot's builder).
  zimManagerImage = {
    ident = (import ../catalog.nix).packages."file-manager.offspot.kiwix.org".image;
    filesize = (import ../catalog.nix).packages."file-manager.offspot.kiwix.org".imageFilesize;
    fullsize = (import ../catalog.nix).packages."file-manager.offspot.kiwix.org".imageFullsize;
  };

  reversedServices = builtins.sort (a: b: a < b) (unique (
    optionals withKiwix [ "browse:kiwix" ]
    ++ optional cfg.zimManager.enable "zim-manager"
    ++ optional cfg.adminUI.enable "admin:adminui"
    ++ optional cfg.metrics.enable "metrics"
    ++ optional cfg.hwclock.enable "hwclock"
    ++ optional (filesPackages != [ ]) "files"
    ++ concatMap
      (app: [ app.domain ] ++ mapAttrsToList
        (sub: target: resolveFor app.ident app "${sub}.${app.domain}:${target}")
        app.subServices)
      apps));

  filesMapping = optional withZimDownloads "zim-download:zims"
    ++ map (p: "${p.domain}:files/${filesPackageDir p}") filesPackages;
  filesPackageDir = p: if p.target != null then p.target else p.ident;

  protectedServices = sortOn (x: x) (
    optional cfg.hwclock.enable "hwclock:${cfg.admin.username}:${cfg.admin.password}"
    ++ map (app: "${app.domain}:${resolveFor app.ident app app.protectedBy.username}:${resolveFor app.ident app app.protectedBy.password}")
      (builtins.filter (app: app.protectedBy != null) apps));

  # ---- OCI images ----
  native = cfg.base.providesInternalServices;
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
    ++ optional cfg.hwclock.enable (image "hwclock")
    ++ map (app: { ident = app.image; filesize = app.imageFilesize; fullsize = app.imageFullsize; }) apps
    ++ map (i: { inherit (i) ident filesize fullsize; }) cfg.ociImages;
  pinOci = img:
    let pin = lockOci.${img.ident} or null; in
    if pin == null then { inherit (img) ident filesize fullsize; url = null; }
    else { ident = "${img.ident}@${pin.digest}"; inherit (pin) filesize fullsize; url = null; };
  ociImages = map pinOci (sortOn (i: i.ident) (uniqueBy (i: i.ident) usedImages));

  # ---- files, in ConfigBuilder's order ----
  readers = builtins.sort
    (a: b: platformOrder a.platform < platformOrder b.platform)
    cfg.dashboard.readers;
  platformOrder = p: { windows = 0; android = 1; macos = 2; linux = 3; }.${p} or 4;

  zimFile = z: urlFile {
    to = "${zimDir}/${z.filename}";
    inherit (z) url size;
    checksum = checksumOf z;
    origin = originOf "zims" z._name;
  };
  zimFiles = map zimFile zims;

  appFiles = concatMap
    (app:
      optional (app.download.url != null) (urlFile {
        to = "${contents}/${if app.download.to != null then app.download.to else app.ident}";
        inherit (app.download) url size via;
        checksum = checksumOf app.download;
        origin = originOf "apps" app.ident + " download";
      })
      ++ map (v: touch v.host) (appVolumes app))
    apps;

  filesPackageFiles = map
    (p: urlFile {
      to = "${contents}/files/${filesPackageDir p}";
      inherit (p) url size via;
      checksum = checksumOf p;
      origin = originOf "filesPackages" p.ident;
    })
    filesPackages;

  userFiles = map
    (name:
      let f = cfg.files.${name}; origin = originOf "files" name; in
      if f.url != null then urlFile { inherit (f) to url via size; checksum = checksumOf f; inherit origin; }
      else contentFile { inherit (f) to via size; content = if f.content != null then f.content else ""; inherit origin; })
    (builtins.attrNames cfg.files);

  brandingDefaults = builtins.attrNames (builtins.readDir ./branding);
  base64Size = s:
    let
      len = builtins.stringLength s;
      pad = (if lib.hasSuffix "==" s then 2 else if lib.hasSuffix "=" s then 1 else 0);
    in
    len / 4 * 3 - pad;
  originalBrandingFiles = map
    (f:
      let
        name = lib.removeSuffix ".b64" f;
        data = builtins.readFile (./branding + "/${f}");
      in
      contentFile { to = "${originalBrandingPath}/${name}"; content = data; via = "base64"; size = base64Size data; origin = "offspot's branding"; })
    brandingDefaults;
  customBrandingFiles = map
    (name:
      let b = cfg.branding.${name}; in
      if b.base64 != null
      then contentFile { to = "${brandingPath}/${name}"; content = b.base64; via = "base64"; size = base64Size b.base64; origin = "hotspot.branding.${lib.showOptionPart name}"; }
      else contentFile { to = "${brandingPath}/${name}"; content = if b.text != null then b.text else ""; origin = originOf "branding" name; })
    (builtins.attrNames cfg.branding);

  readerFiles = map
    (r: urlFile {
      to = "${zimDir}/${r.filename}";
      inherit (r) url size;
      checksum = checksumOf r;
      origin = "hotspot.dashboard.readers ${where options.hotspot.dashboard.readers}";
    })
    readers;

  dashboardYaml = lib.toPrettyJSON { } dashboard + "\n";

  offspotJson =
    let
      human = "Kiwix Hotspot"
        + (if lib.strings.match "[[:space:]]*" cfg.variant == null then " “${cfg.variant}”" else "")
        + (if lib.strings.match "[[:space:]]*" cfg.publicVersion == null then " ${cfg.publicVersion}" else "");
    in
    lib.toOrderedJSON { indent = 4; } [
      { name = "name"; value = "Kiwix Hotspot"; }
      { name = "variant"; value = cfg.variant; }
      { name = "version"; value = cfg.publicVersion; }
      { name = "human"; value = human; }
    ];

  allFiles =
    optionals withDashboard (readerFiles ++ [ (touch zimDir) ])
    ++ zimFiles
    ++ optional withKiwix (touch zimDir)
    ++ optional withFiles (touch contents)
    ++ appFiles
    ++ filesPackageFiles
    ++ userFiles
    ++ optional cfg.metrics.enable (touch "${metricsDataPath}/logwatcher")
    ++ [ (touch originalBrandingPath) ] ++ originalBrandingFiles
    ++ [ (touch brandingPath) ] ++ customBrandingFiles
    ++ optional withDashboard (contentFile { to = "${contents}/dashboard.yaml"; content = dashboardYaml; origin = "hotspot.dashboard"; })
    ++ [ (contentFile { to = "/data/etc/offspot.json"; content = offspotJson; origin = "hotspot.variant"; }) ];

  # Placeholders are added once per folder (ConfigBuilder.ensure_host_path).
  files = uniqueBy
    (f: if lib.hasSuffix "/.touch" f.entry.to && (f.entry.content or null) == "-" then f.entry.to else "file:${toString f.index}")
    (lib.imap0 (i: f: f // { index = i; }) allFiles);

  # ---- dashboard (home.yaml) ----
  downloadFqdn = "zim-download.${fqdn}";
  humanId = filename:
    let m = builtins.match "(.*)\\.zim[a-z]*" filename; in
    builtins.replaceStrings [ " " "+" ] [ "_" "plus" ]
      (lib.strings.toLower (if m == null then filename else builtins.head m));
  zimEntry = z:
    let
      f = zimFile z;
      size = f.entry.size;
    in
    {
      inherit (z) ident title description languages tags icon;
      kind = "zim";
      url = "//browse.${fqdn}/viewer#${humanId z.filename}";
    } // optionalAttrs (withZimDownloads && size > 0) {
      download = { url = "//${downloadFqdn}/${z.filename}"; inherit size; }
        // optionalAttrs (f.entry ? checksum) { inherit (f.entry) checksum; };
    };
  packageEntry = kind: p: {
    inherit (p) ident title description languages tags icon;
    inherit kind;
    url = "//${p.domain}.${fqdn}/";
  };
  dashboard = {
    metadata = { name = cfg.name; inherit fqdn; version = cfg.publicVersion; }
      // optionalAttrs (cfg.dashboard.footerNote != null) { footer_note = cfg.dashboard.footerNote; };
    packages = map zimEntry zims ++ map (packageEntry "app") apps ++ map (packageEntry "files") filesPackages;
  } // optionalAttrs (readers != [ ]) {
    readers = map
      (r:
        let f = urlFile { to = ""; inherit (r) url size; checksum = checksumOf r; origin = ""; }; in
        {
          inherit (r) platform filename;
          download_url = "//${downloadFqdn}/${r.filename}";
          size = f.entry.size;
        } // optionalAttrs (f.entry ? checksum) { inherit (f.entry) checksum; })
      readers;
  } // optionalAttrs (cfg.dashboard.links != [ ]) {
    links = map (l: { inherit (l) label icon; url = resolve l.url; }) cfg.dashboard.links;
  };

  # ---- offspot.yaml ----
  apAddress = if cfg.ap.address != null then cfg.ap.address else "192.168.144.1";
  nonNull = filterAttrs (n: v: v != null && v != [ ]);
  offspotConfig = {
    timezone = cfg.timezone;
    hostname = cfg.hostname;
    ethernet = { inherit (cfg.ethernet) type; } // nonNull {
      inherit (cfg.ethernet) address routers dns;
    };
    ap = {
      domain = cfg.domain;
      welcome = cfg.welcomeDomain;
      tld = cfg.tld;
      ssid = cfg.ap.ssid;
      passphrase = cfg.ap.passphrase;
      as-gateway = cfg.ap.asGateway;
      profile = cfg.ap.profile;
    } // nonNull {
      dhcp-range = cfg.ap.dhcpRange;
      network = cfg.ap.network;
      address = cfg.ap.address;
      country = cfg.ap.country;
      channel_24 = cfg.ap.channel24;
      channel_5 = cfg.ap.channel5;
      spoof = cfg.ap.spoof;
      dns = cfg.ap.dns;
      captured-address = cfg.ap.capturedAddress;
      interface = cfg.ap.interface;
      other-interfaces = cfg.ap.otherInterfaces;
      except-interfaces = cfg.ap.exceptInterfaces;
      nodhcp-interfaces = cfg.ap.nodhcpInterfaces;
    } // optionalAttrs cfg.ap.hide { hide = true; };
    containers = {
      name = "offspot";
      inherit services;
    };
  } // optionalAttrs (cfg.firmware.brcm43455 != null || cfg.firmware.brcm43430 != null) {
    firmware = nonNull { inherit (cfg.firmware) brcm43455 brcm43430; };
  } // optionalAttrs native {
    services = nativeServices;
  } // cfg.extraOffspotConfig;

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
        } // nonNull { footer-note = cfg.captivePortal.footerNote; }
      else false;
    proxy =
      if cfg.reverseProxy.enable then
        { zim-download = withZimDownloads; }
        // optionalAttrs (filesPackages != [ ]) {
          files = builtins.listToAttrs (map
            (p: { name = p.domain; value = "${contents}/files/${filesPackageDir p}"; })
            filesPackages);
        }
      else false;
  };

  # ---- base ----
  baseCatalog = (import ../catalog.nix).baseImages;
  baseUrl =
    if baseCatalog ? ${cfg.base.source} then baseCatalog.${cfg.base.source}.url else cfg.base.source;
  basePin = lockFiles.${baseUrl} or null;
  baseChecksum =
    if basePin != null then { algo = "sha-256"; kind = "digest"; value = basePin.sha256; }
    else checksumOf cfg.base;
  base = {
    # A pinned release is written as its URL, so the pin applies to the exact bytes.
    source = if basePin != null then baseUrl else cfg.base.source;
    rootfs_size = cfg.base.rootfsSize;
  } // optionalAttrs (baseChecksum != null) { checksum = baseChecksum; };

  recipe = {
    inherit base;
    output = { size = cfg.output.size; } // optionalAttrs cfg.output.compress { compress = true; };
    oci_images = ociImages;
    files = map (f: f.entry) files;
    write_config = cfg.writeConfig;
    offspot = offspotConfig;
  };

  # ---- size: rust/recipe/src/sizing.rs computes the same numbers (`nixspot size`);
  # keep them in step. An ext4 data partition of 4 KiB blocks holding the content, with
  # the assembler's journal, inode tables, reserved blocks and 10 % headroom. ----
  ceilDiv = a: b: (a + b - 1) / b;
  journalBlocks = blocks:
    if blocks < 32768 then 1024 else if blocks < 262144 then 4096
    else if blocks < 524288 then 8192 else if blocks < 4194304 then 16384
    else if blocks < 8388608 then 32768 else if blocks < 16777216 then 65536
    else if blocks < 33554432 then 131072 else 262144;
  sum = builtins.foldl' (a: b: a + b) 0;
  knownSizes = builtins.filter (s: s >= 0) (map (e: e.size) entries);
  imageSizes = concatMap (o: [ o.filesize o.fullsize ]) ociImages;
  usedBlocks = sum (map (s: ceilDiv s 4096) (knownSizes ++ imageSizes));
  dataBlocks = journal: ceilDiv ((usedBlocks + journal + 1024 + usedBlocks / 8192) * 704) 597;
  sizeAlign = 4194304;
  sizeEstimate = rec {
    base = cfg.base.rootfsSize;
    content = sum knownSizes;
    images = sum imageSizes;
    total = ceilDiv (base + 4096 * dataBlocks (journalBlocks (dataBlocks (journalBlocks usedBlocks)))) sizeAlign * sizeAlign;
    slack = total - base - content - images;
  };
  sdCard = lib.findFirst (c: c.name == cfg.output.sdCard) null (import ../catalog.nix).sdCards;
  fittingCard = lib.findFirst (c: c.usable >= sizeEstimate.total) null (import ../catalog.nix).sdCards;

  # ---- validation ----
  entries = map (f: f.entry) files;
  targets = map (e: e.to) entries;
  hexLen = { "sha-1" = 40; "sha-224" = 56; "sha-256" = 64; "sha-384" = 96; "sha-512" = 128; md5 = 32; adler32 = 8; };
  fileAssertions = concatMap
    (f:
      let e = f.entry; ck = e.checksum or null; in
      [
        {
          assertion = hasPrefix "/data/" e.to && builtins.match ".*(^|/)\\.\\.(/|$).*" e.to == null;
          message = "${f.origin}: target `${e.to}' must be a path under /data (without `..').";
        }
        {
          assertion = builtins.elem e.via htypes.vias;
          message = "${f.origin}: via `${e.via}' is not one of ${builtins.concatStringsSep ", " htypes.vias}.";
        }
        {
          assertion = e ? url || e.via == "direct" || e.via == "base64";
          message = "${f.origin}: inline content can only be placed `direct' or `base64', not `${e.via}'.";
        }
        {
          assertion = !(e ? url) || builtins.match "(https?|file)://.+" e.url != null;
          message = "${f.origin}: URL `${e.url or ""}' must start with http://, https:// or file://.";
        }
        {
          assertion = ck == null || builtins.elem ck.algo htypes.checksumAlgos;
          message = "${f.origin}: checksum algorithm `${ck.algo or ""}' is not one of ${builtins.concatStringsSep ", " htypes.checksumAlgos}.";
        }
        {
          assertion = ck == null || ck.kind != "digest" || !(hexLen ? ${ck.algo})
            || builtins.match "[0-9a-fA-F]{${toString hexLen.${ck.algo}}}" ck.value != null;
          message = "${f.origin}: ${ck.algo or ""} digest `${ck.value or ""}' must be ${toString (hexLen.${ck.algo or ""} or 0)} hex digits.";
        }
        {
          assertion = f.pin == null || f.checksum == null || f.checksum.algo != "sha-256" || f.checksum.kind != "digest" || f.checksum.value == f.pin.sha256;
          message = "${f.origin}: sha256 ${f.checksum.value or ""} disagrees with the lock file's ${f.pin.sha256 or ""} for ${f.url or ""} (lock file ${toString cfg.lockFile}).";
        }
        {
          assertion = f.pin == null || f.size or null == null || f.size == f.pin.size;
          message = "${f.origin}: size ${toString (f.size or "")} disagrees with the lock file's ${toString (f.pin.size or "")} for ${f.url or ""} (lock file ${toString cfg.lockFile}).";
        }
      ])
    files;
  # write_config makes image-creator add /data/image.yaml itself.
  dupTargets = duplicates (targets ++ optional cfg.writeConfig "/data/image.yaml");

  ssid = cfg.ap.ssid;
  pass = cfg.ap.passphrase;
  tldBlacklist = [ "example" "invalid" "local" "localhost" "onion" "test" ];
  clashingServices = builtins.attrNames (builtins.intersectAttrs builtinServices cfg.containers.extraServices);
  appDomains = map (a: a.domain) apps;
  reserved = [ "browse" "zim-download" "zim-manager" "admin" "metrics" "hwclock" "files" "kiwix" "home" "home-portal" "reverse-proxy" "adminui" ];
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

  config = {
    build.recipe = lib.checkAssertions config recipe;
    build.offspotConfig = lib.checkAssertions config offspotConfig;
    build.dashboard = lib.checkAssertions config dashboard;

    # The captive portal captures a dedicated DHCP range inside the /24 (ConfigBuilder).
    hotspot.ap = lib.mkIf cfg.captivePortal.enable {
      dhcpRange = lib.mkDefault "192.168.144.129,192.168.144.254,255.255.255.0,1h";
      network = lib.mkDefault "192.168.144.0/24";
      address = lib.mkDefault "192.168.144.1";
      asGateway = lib.mkDefault true;
    };

    warnings =
      optional ((cfg.adminUI.enable || cfg.hwclock.enable) && cfg.admin.password == "")
        "hotspot.admin.password is empty, but the admin UI or the hardware clock are enabled."
      ++ optional (cfg.captivePortal.enable && cfg.ap.address != null && cfg.ap.address != "192.168.144.1")
        "hotspot.ap.address is ${cfg.ap.address}, but the captive portal captures 192.168.144.128/25.";

    assertions = fileAssertions ++ [
      {
        assertion = dupTargets == [ ];
        message = "Several files have the same target: ${builtins.concatStringsSep ", " dupTargets} (from ${builtins.concatStringsSep ", " (map (f: f.origin) (builtins.filter (f: builtins.elem f.entry.to dupTargets) files))}).";
      }
      {
        assertion = builtins.stringLength ssid >= 1 && builtins.stringLength ssid <= 32;
        message = "hotspot.ap.ssid ${where options.hotspot.ap.ssid}: ${builtins.toJSON ssid} must be 1 to 32 bytes long (it is ${toString (builtins.stringLength ssid)}).";
      }
      {
        assertion = builtins.match "[^]+/\"\t]*" ssid != null && builtins.match "[!#;].*" ssid == null;
        message = "hotspot.ap.ssid ${where options.hotspot.ap.ssid}: ${builtins.toJSON ssid} must not contain + ] / \" or TAB, nor start with ! # or ;.";
      }
      {
        assertion = pass == null || (builtins.stringLength pass >= 8 && builtins.stringLength pass <= 63 && builtins.match "[ -~]*" pass != null);
        message = "hotspot.ap.passphrase ${where options.hotspot.ap.passphrase}: a WPA2 passphrase must be 8 to 63 printable ASCII characters (it has ${toString (builtins.stringLength (if pass == null then "" else pass))}).";
      }
      {
        assertion = !(builtins.elem cfg.tld tldBlacklist);
        message = "hotspot.tld ${where options.hotspot.tld}: `${cfg.tld}' is reserved; use something other than ${builtins.concatStringsSep ", " tldBlacklist}.";
      }
      {
        assertion = builtins.stringLength cfg.hostname <= 255;
        message = "hotspot.hostname ${where options.hotspot.hostname}: at most 255 characters.";
      }
      {
        assertion = cfg.ethernet.type != "static" || cfg.ethernet.address != null;
        message = "hotspot.ethernet.address ${where options.hotspot.ethernet.type}: a static ethernet configuration needs an address.";
      }
      {
        assertion = cfg.reverseProxy.enable || services == { };
        message = "hotspot.reverseProxy.enable ${where options.hotspot.reverseProxy.enable}: the runtime needs a service publishing port 80; keep the reverse proxy when running containers.";
      }
      {
        assertion = !cfg.metrics.enable || cfg.dashboard.enable;
        message = "hotspot.metrics.enable ${where options.hotspot.metrics.enable}: metrics needs the dashboard (hotspot.dashboard.enable).";
      }
      {
        assertion = builtins.match "nixspot:base|[0-9]\\.[0-9]\\.[0-9][a-z0-9._-]*|(https?|file)://.+" cfg.base.source != null;
        message = "hotspot.base.source ${where options.hotspot.base.source}: ${builtins.toJSON cfg.base.source} is neither an offspot release (X.Y.Z), a URL, nor \"nixspot:base\".";
      }
      {
        assertion = (lock.version or null) == 1;
        message = "hotspot.lockFile: ${toString cfg.lockFile} has version ${builtins.toJSON (lock.version or null)}; nixspot reads version 1.";
      }
      {
        assertion = duplicates (appDomains ++ map (p: p.domain) filesPackages) == [ ] && builtins.filter (d: builtins.elem d reserved) appDomains == [ ];
        message = "hotspot.apps / hotspot.filesPackages ${where options.hotspot.apps}: domains must be unique and not one of ${builtins.concatStringsSep ", " reserved} (got ${builtins.concatStringsSep ", " (appDomains ++ map (p: p.domain) filesPackages)}).";
      }
      {
        assertion = sdCard == null || sizeEstimate.total <= sdCard.usable;
        message = "hotspot.output.sdCard ${where options.hotspot.output.sdCard}: the image needs ${toString sizeEstimate.total} bytes (base ${toString sizeEstimate.base} + content ${toString sizeEstimate.content} + images ${toString sizeEstimate.images} + slack ${toString sizeEstimate.slack}), more than the ${sdCard.name or ""} card's ${toString (sdCard.usable or 0)} usable bytes; "
          + (if fittingCard == null then "no common card is large enough." else "the smallest card it fits is ${fittingCard.name}.");
      }
      {
        assertion = clashingServices == [ ];
        message = "hotspot.containers.extraServices ${where options.hotspot.containers.extraServices}: ${builtins.concatStringsSep ", " clashingServices} would replace built-in services; choose other names.";
      }
    ]
    ++ map
      (z: {
        assertion = z.sha256 == null || z.checksum == null;
        message = "${originOf "zims" z._name}: set either sha256 or checksum, not both.";
      })
      zims
    ++ map
      (name: {
        assertion = (cfg.files.${name}.url == null) != (cfg.files.${name}.content == null);
        message = "${originOf "files" name}: set exactly one of url and content.";
      })
      (builtins.attrNames cfg.files)
    ++ map
      (name: {
        assertion = (cfg.branding.${name}.base64 == null) != (cfg.branding.${name}.text == null);
        message = "${originOf "branding" name}: set exactly one of base64 and text.";
      })
      (builtins.attrNames cfg.branding);
  };
}
