# Functions the hotspot's concern modules share (not a module): offspot-config's paths,
# how a download or a placeholder becomes a `hotspot.build.files` entry, where an option
# was defined (for messages), and the variables catalog values may use.
lib:
let
  inherit (lib) optionalAttrs;
in
rec {
  # offspot-config's constants.
  contents = "/data/contents";
  zimDir = "${contents}/zims";
  brandingPath = "${contents}/branding";
  originalBrandingPath = "/data/branding";
  metricsDataPath = "${contents}/metrics";

  # Position of a file in the recipe's `files` list: its group (the order in which
  # offspot-config's ConfigBuilder adds files), then its index in the group. Groups are
  # 100000 apart; `hotspot.build.files.<path>.order` documents them.
  order = group: index: group * 100000 + index;
  groups = {
    readers = 10;
    dashboardPlaceholder = 20;
    zims = 30;
    kiwixPlaceholder = 40;
    filesPlaceholder = 41;
    apps = 50;
    filesPackages = 60;
    userFiles = 70;
    extraFiles = 75;
    metrics = 80;
    originalBranding = 90;
    branding = 100;
    dashboard = 110;
    offspotJson = 120;
  };

  # Where an option was defined, for messages.
  where = opt:
    let files = opt.files or [ ]; in
    if files == [ ] then "(default)" else "(defined in ${lib.showFiles files})";
  # `hotspot.<collection>.<name> (defined in …)` for messages about one entry.
  originOf = options: collection: name:
    "hotspot.${collection}.${lib.showOptionPart name} ${where options.hotspot.${collection}}";

  # image-creator's `checksum` of a download: `sha256`, else `checksum`, else a
  # MirrorBrain checksum URL (its algorithm from the suffix); null for none.
  checksumOf = item:
    if (item.sha256 or null) != null then { algo = "sha-256"; kind = "digest"; value = item.sha256; }
    else if (item.checksum or null) != null then { inherit (item.checksum) algo kind value; }
    else if (item.checksumUrl or null) != null then {
      algo = { md5 = "md5"; sha1 = "sha-1"; sha256 = "sha-256"; sha512 = "sha-512"; }.${lib.last (lib.splitString "." item.checksumUrl)};
      kind = "url";
      value = item.checksumUrl;
    }
    else null;

  # What the recipe says about a download's size and checksum: a pin
  # (`hotspot.build.pins.files`, filled from the lock file) wins over what the module
  # declared; an unknown size is -1 (image-creator asks the server).
  pinned = pins: { url, size ? null, checksum ? null }:
    let pin = pins.${url} or null; in
    {
      size = if pin != null then pin.size else if size != null then size else -1;
      checksum = if pin != null then { algo = "sha-256"; kind = "digest"; value = pin.sha256; } else checksum;
    };

  # One `hotspot.build.files` definition: `{ <to> = spec; }`.
  file = { to, order, origin, ... }@spec: { ${to} = builtins.removeAttrs spec [ "to" ]; };
  # An empty file that makes image-creator create `dir` (ConfigBuilder.ensure_host_path);
  # every module asking for the same folder defines the same entry, so it is added once,
  # at the earliest position.
  touch = order: dir: file { to = "${dir}/.touch"; inherit order; origin = "placeholder for ${dir}"; content = "-"; size = 1; };

  # Decoded size of base64 text.
  base64Size = s:
    let
      len = builtins.stringLength s;
      pad = if lib.hasSuffix "==" s then 2 else if lib.hasSuffix "=" s then 1 else 0;
    in
    len / 4 * 3 - pad;

  # Variables in catalog values (ConfigBuilder.resolved_variable): `$environ{NAME}` for
  # the global environment and admin credentials, `${FQDN}` and friends, and for an app
  # `${APP_DIR}`, `${PACKAGE_IDENT}`, `${PACKAGE_DOMAIN}`, `${PACKAGE_FQDN}`.
  variables = cfg:
    let
      environ = cfg.environment // {
        ADMIN_USERNAME = cfg.admin.username;
        ADMIN_PASSWORD = cfg.admin.password;
      };
      names = builtins.attrNames environ;
      resolve = text: builtins.replaceStrings
        ((map (n: "$environ{${n}}") names) ++ [ "\${FQDN}" "\${REVERSE_NAME}" "\${BRANDING_PATH}" "\${ORIGINAL_BRANDING_PATH}" ])
        ((map (n: environ.${n}) names) ++ [ cfg.fqdn "reverse-proxy" brandingPath originalBrandingPath ])
        text;
    in
    {
      inherit environ resolve;
      resolveFor = ident: app: text: builtins.replaceStrings
        [ "\${APP_DIR}" "\${PACKAGE_IDENT}" "\${PACKAGE_DOMAIN}" "\${PACKAGE_FQDN}" ]
        [ "${contents}/${ident}" ident app.domain "${app.domain}.${cfg.fqdn}" ]
        (resolve text);
    };

  # A compose bind mount.
  bind = source: target: readOnly: { type = "bind"; inherit source target; read_only = readOnly; };

  # The recipe's `files` and `oci_images`, as image-creator reads them: every
  # `hotspot.build.files` entry in `order` (then path) order, downloads pinned; every
  # `hotspot.build.ociImages` entry by ident, pinned to its digest when the lock has it.
  resolved = build:
    let
      entry = to: f:
        if f.url != null then
          let p = pinned build.pins.files { inherit (f) url size checksum; }; in
          { inherit to; inherit (f) url via; inherit (p) size; }
          // optionalAttrs (p.checksum != null) { checksum = { inherit (p.checksum) algo kind value; }; }
        else
          let content = if f.content != null then f.content else ""; in
          { inherit to content; inherit (f) via; size = if f.size != null then f.size else builtins.stringLength content; };
      sorted = builtins.sort
        (a: b: a.order < b.order || (a.order == b.order && a.to < b.to))
        (lib.mapAttrsToList (to: f: { inherit to; inherit (f) order; }) build.files);
      image = ident: i:
        let pin = build.pins.oci.${ident} or null; in
        if pin == null then { inherit ident; inherit (i) filesize fullsize; url = null; }
        else { ident = "${ident}@${pin.digest}"; inherit (pin) filesize fullsize; url = null; };
    in
    {
      files = map (f: entry f.to build.files.${f.to}) sorted;
      ociImages = lib.mapAttrsToList image build.ociImages;
    };

  # The image size `nixspot size` reports (rust/recipe/src/sizing.rs computes the same
  # numbers; keep them in step): an ext4 data partition of 4 KiB blocks holding the
  # content, with the assembler's journal, inode tables, reserved blocks and 10 %
  # headroom, after the base image's rootfs, rounded up to 4 MiB.
  sizeEstimate = rootfsSize: r:
    let
      ceilDiv = a: b: (a + b - 1) / b;
      journalBlocks = blocks:
        if blocks < 32768 then 1024 else if blocks < 262144 then 4096
        else if blocks < 524288 then 8192 else if blocks < 4194304 then 16384
        else if blocks < 8388608 then 32768 else if blocks < 16777216 then 65536
        else if blocks < 33554432 then 131072 else 262144;
      sum = builtins.foldl' (a: b: a + b) 0;
      knownSizes = builtins.filter (s: s >= 0) (map (e: e.size) r.files);
      imageSizes = builtins.concatMap (o: [ o.filesize o.fullsize ]) r.ociImages;
      usedBlocks = sum (map (s: ceilDiv s 4096) (knownSizes ++ imageSizes));
      dataBlocks = journal: ceilDiv ((usedBlocks + journal + 1024 + usedBlocks / 8192) * 704) 597;
      sizeAlign = 4194304;
    in
    rec {
      base = rootfsSize;
      content = sum knownSizes;
      images = sum imageSizes;
      total = ceilDiv (base + 4096 * dataBlocks (journalBlocks (dataBlocks (journalBlocks usedBlocks)))) sizeAlign * sizeAlign;
      slack = total - base - content - images;
    };
}
