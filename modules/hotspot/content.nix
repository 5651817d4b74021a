# Content: ZIM files, plain files, files packages and extra OCI images; they contribute
# their files, dashboard cards, file-browser folders and images.
{ config, options, lib, ... }:
let
  inherit (lib) mkOption mkIf mkDefault mkMerge mkOrder types literalExpression optionalAttrs;
  htypes = import ./types.nix lib;
  h = import ./helpers.nix lib;
  cfg = config.hotspot;
  catalog = import ../catalog.nix;

  # What `nixspot lock` wrote about catalog packages: evaluation reads the lock, never
  # the catalog, so it stays pure and both evaluators agree.
  lockFile = config.hotspot.lockFile;
  lockPackages =
    if lockFile == null then { }
    else (builtins.fromJSON (builtins.readFile lockFile)).packages or { };

  # Options every downloadable item shares.
  downloadOptions = {
    sha256 = mkOption {
      type = types.nullOr htypes.sha256;
      default = null;
      example = "99465e14effc7f951e9c017b4b3cee91967eb49c556d9f4f0d674adbe80d78c2";
      description = "SHA-256 of the download: pins it (shorthand for a `checksum` of algo `sha-256`, kind `digest`).";
    };
    checksum = mkOption {
      type = types.nullOr htypes.checksum;
      default = null;
      example = { algo = "sha-1"; value = "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"; };
      description = "Any checksum image-creator supports (used when `sha256` is null).";
    };
    checksumUrl = mkOption {
      type = types.nullOr (types.strMatching "(https?|file)://.+\\.(md5|sha1|sha256|sha512)");
      default = null;
      example = "https://download.kiwix.org/zim/wikipedia/wikipedia_en_climate_change_nopic_2024-06.zim.md5";
      description = "URL of a MirrorBrain-style checksum file (`<digest>[ name]`) that image-creator reads at build time; the algorithm follows the suffix (.md5, .sha1, .sha256, .sha512). Used when `sha256` and `checksum` are null. Not a pin: run `nixspot lock`.";
    };
  };

  packageInfoOptions = import ./package-info.nix lib;

  zimModule = { name, config, options, ... }:
    let
      # The lock's entry answers this ZIM only for the version the module asks for.
      locked = if config.package == null then null else lockPackages.${config.package} or null;
      p = if locked != null && (locked.version or null) == config.version then locked else null;
      # Hash and size describe the package's own file: an explicit url of another file
      # takes neither.
      samePackageFile = p != null && config.url == p.url;
      unresolved = builtins.throw (
        "hotspot.zims.${lib.showOptionPart name}.package = ${builtins.toJSON config.package} (defined in ${lib.showFiles options.package.files})"
        + lib.optionalString (config.version != null) " (version ${builtins.toJSON config.version})"
        + " is not resolved in the lock file "
        + (if lockFile == null then "(hotspot.lockFile is not set)" else toString lockFile)
        + ": run `nixspot lock` on this hotspot module.");
    in
    {
    options = {
      package = mkOption {
        type = types.nullOr (types.strMatching "[^:[:space:]]+(:[^:[:space:]]*|:[^:[:space:]]+:[^:[:space:]]*)?");
        default = null;
        example = "wikipedia_en_climate_change:nopic";
        description = ''
          The ZIM by its name in the Kiwix library (`NAME`, `NAME:FLAVOUR`, or offspot's
          `PUBLISHER:NAME:FLAVOUR`), instead of a `url`. `nixspot lock` resolves it in the
          catalog and writes what the catalog says into the lock file; the unset options
          (`url`, `sha256`, `size`, `ident`, `title`, `description`, `languages`, `tags`,
          `icon`) come from there. Explicitly set options win.
        '';
      };
      version = mkOption {
        type = types.nullOr (types.strMatching "[0-9]{4}-[0-9]{2}(-[0-9]{2})?");
        default = null;
        example = "2024-06";
        description = "The catalog version (content date, `YYYY-MM` or `YYYY-MM-DD`) of `package`; null takes the latest when locking (`nixspot lock --update` moves to a newer one).";
      };
      ident = mkOption {
        type = types.strMatching "[^:]+:[^:]+:[^:]*";
        default = "openZIM:${name}:";
        defaultText = literalExpression ''"openZIM:<name>:"'';
        example = "openZIM:wikipedia_en_climate_change:nopic";
        description = "ZIM identity `publisher:name:flavour`; gives the file name `<publisher>_<name>_<flavour>.zim`.";
      };
      url = mkOption {
        type = types.str;
        example = "https://download.kiwix.org/zim/wikipedia/wikipedia_en_climate_change_nopic_2024-06.zim";
        description = "Where to download the ZIM file (`https://…`, `file://…`); from the lock file when `package` is set.";
      };
      size = mkOption {
        type = types.nullOr types.ints.unsigned;
        default = null;
        example = 14130838;
        description = "Size in bytes; null lets image-creator ask the server (a lock file pins it).";
      };
      filename = mkOption {
        type = types.strMatching "[^/]+\\.zim";
        default =
          let
            parts = lib.splitString ":" config.ident;
            clean = builtins.replaceStrings [ "/" "\\" ":" "*" "?" "\"" "<" ">" "|" ] [ "" "" "" "" "" "" "" "" "" ];
          in
          clean (builtins.concatStringsSep "_" parts) + ".zim";
        defaultText = literalExpression ''"<publisher>_<name>_<flavour>.zim"'';
        description = "File name under `/data/contents/zims/`.";
      };
    } // downloadOptions // packageInfoOptions { title = name; };

    # The package's lock entry, below the priority of anything the module sets.
    config = mkIf (config.package != null) {
      url = mkDefault (if p != null then p.url else unresolved);
      ident = mkIf (p != null) (mkDefault "${if p.publisher == "" then "openZIM" else p.publisher}:${p.name}:${p.flavour}");
      sha256 = mkIf (samePackageFile && config.checksum == null && config.checksumUrl == null) (mkDefault p.sha256);
      size = mkIf samePackageFile (mkDefault p.size);
      title = mkIf (p != null) (mkDefault p.title);
      description = mkIf (p != null) (mkDefault p.description);
      languages = mkIf (p != null) (mkDefault p.languages);
      tags = mkIf (p != null) (mkDefault p.tags);
      icon = mkIf (p != null) (mkDefault p.icon);
    };
    };

  fileModule = { name, ... }: {
    options = {
      to = mkOption {
        type = types.str;
        default = "/data/contents/files/${name}";
        defaultText = literalExpression ''"/data/contents/files/<name>"'';
        example = "/data/contents/files/welcome.txt";
        description = "Target path in the image; must be under `/data`. Archives (`via` other than direct/base64) are expanded into this directory.";
      };
      url = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "https://example.org/manual.pdf";
        description = "Where to download the file (exclusive with `content`).";
      };
      content = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "Welcome!";
        description = "Inline content (exclusive with `url`); base64 when `via = \"base64\"`.";
      };
      via = mkOption {
        type = types.str;
        default = "direct";
        example = "zip";
        description = "How the file is placed: ${builtins.concatStringsSep ", " htypes.vias}.";
      };
      size = mkOption {
        type = types.nullOr types.int;
        default = null;
        example = 28;
        description = "Size in bytes (the expanded size for archives); null computes it for content and leaves it to image-creator (-1) for URLs.";
      };
    } // downloadOptions;
  };

  filesPackageModule = { name, ... }:
    let c = if (catalog.packages.${name}.kind or "") == "files" then catalog.packages.${name} else { }; in
    {
      options = {
        enable = mkOption {
          type = types.bool;
          default = true;
          description = "Whether to include this files package.";
        };
        domain = mkOption {
          type = types.strMatching "[a-z0-9][a-z0-9.-]*";
          description = "Sub-domain serving the package: `<domain>.<fqdn>`.";
          example = "nomad";
        } // optionalAttrs (c ? domain) { default = c.domain; };
        url = mkOption {
          type = types.str;
          description = "Download URL of the package.";
          example = "https://drive.hotspot.kiwix.org/nomad/nomadeducation_fr_android_2023-11.zip";
        } // optionalAttrs (c ? downloadUrl) { default = c.downloadUrl; };
        size = mkOption {
          type = types.nullOr types.ints.unsigned;
          default = c.downloadSize or null;
          description = "Size in bytes (expanded size for archives).";
        };
        via = mkOption {
          type = types.str;
          default = c.via or "direct";
          description = "How the download is placed (zip, tar, direct, …).";
        };
        target = mkOption {
          type = types.nullOr types.str;
          default = c.target or null;
          description = "Folder name under `/data/contents/files/` (default: the ident).";
        };
      } // downloadOptions // {
        checksum = downloadOptions.checksum // {
          default = if c ? downloadChecksum then { kind = "digest"; } // c.downloadChecksum else null;
        };
      } // packageInfoOptions c;
    };
in
{
  options.hotspot = {
    zims = mkOption {
      type = types.attrsOf (types.submodule zimModule);
      default = { };
      example = literalExpression ''
        {
          wikipedia = {
            ident = "openZIM:wikipedia_en_climate_change:nopic";
            url = "https://download.kiwix.org/zim/wikipedia/wikipedia_en_climate_change_nopic_2024-06.zim";
            title = "Wikipedia: climate change";
          };
        }
      '';
      description = "ZIM files served by kiwix-serve and listed on the dashboard, stored in `/data/contents/zims/`.";
    };
    files = mkOption {
      type = types.attrsOf (types.submodule fileModule);
      default = { };
      example = literalExpression ''{ "welcome.txt".content = "Welcome!"; }'';
      description = "Arbitrary files (or archives expanded into directories) placed under `/data`.";
    };
    filesPackages = mkOption {
      type = types.attrsOf (types.submodule filesPackageModule);
      default = { };
      example = literalExpression ''{ "nomad.offspot.kiwix.org" = { }; }'';
      description = "Files packages (offspot catalog `kind = files` entries, or your own), served by the file browser at `<domain>.<fqdn>`. Catalog idents fill every option's default.";
    };
    ociImages = mkOption {
      type = types.listOf (types.submodule {
        options = {
          ident = mkOption {
            type = types.str;
            example = "ghcr.io/offspot/file-browser:1.2";
            description = "Image reference (`registry/repo:tag`, optionally `@sha256:…`).";
          };
          filesize = mkOption {
            type = types.ints.unsigned;
            description = "Size of the exported docker-archive tar (bytes).";
          };
          fullsize = mkOption {
            type = types.ints.unsigned;
            description = "Size of the extracted image (bytes).";
          };
        };
      });
      default = [ ];
      description = "Extra OCI images to preload (for services added in `hotspot.containers.extraServices`).";
    };
  };

  config =
    let
      inherit (h) contents zimDir;
      pins = cfg.build.pins.files;
      zimNames = builtins.attrNames cfg.zims;
      filesPackages = builtins.filter (p: p.enable) (lib.mapAttrsToList (ident: p: p // { inherit ident; }) cfg.filesPackages);
      folderOf = p: "files/${if p.target != null then p.target else p.ident}";
      withZimDownloads = cfg.kiwix.enable && cfg.dashboard.allowZimDownloads;
      downloadFqdn = "zim-download.${cfg.fqdn}";

      zimFile = i: name:
        let z = cfg.zims.${name}; in
        h.file {
          to = "${zimDir}/${z.filename}";
          order = h.order h.groups.zims i;
          origin = h.originOf options "zims" name;
          inherit (z) url size;
          checksum = h.checksumOf z;
        };
      filesPackageFile = i: p: h.file {
        to = "${contents}/${folderOf p}";
        order = h.order h.groups.filesPackages i;
        origin = h.originOf options "filesPackages" p.ident;
        inherit (p) url size via;
        checksum = h.checksumOf p;
      };
      userFile = i: name:
        let f = cfg.files.${name}; in
        h.file ({
          inherit (f) to via size;
          order = h.order h.groups.userFiles i;
          origin = h.originOf options "files" name;
        } // (if f.url != null then { inherit (f) url; checksum = h.checksumOf f; }
        else { content = if f.content != null then f.content else ""; }));

      # The dashboard's card of a ZIM (ConfigBuilder's home.yaml entry): read in
      # kiwix-serve, and downloadable at zim-download.<fqdn> when its size is known.
      humanId = filename:
        let m = builtins.match "(.*)\\.zim[a-z]*" filename; in
        builtins.replaceStrings [ " " "+" ] [ "_" "plus" ]
          (lib.strings.toLower (if m == null then filename else builtins.head m));
      zimEntry = name:
        let
          z = cfg.zims.${name};
          p = h.pinned pins { inherit (z) url size; checksum = h.checksumOf z; };
        in
        {
          inherit (z) ident title description languages tags icon;
          kind = "zim";
          url = "//browse.${cfg.fqdn}/viewer#${humanId z.filename}";
        } // optionalAttrs (withZimDownloads && p.size > 0) {
          download = { url = "//${downloadFqdn}/${z.filename}"; inherit (p) size; }
            // optionalAttrs (p.checksum != null) { inherit (p) checksum; };
        };
      filesPackageEntry = p: {
        inherit (p) ident title description languages tags icon;
        kind = "files";
        url = "//${p.domain}.${cfg.fqdn}/";
      };
    in
    {
      hotspot.build = {
        files = mkMerge (lib.imap0 zimFile zimNames
          ++ lib.imap0 filesPackageFile filesPackages
          ++ lib.imap0 userFile (builtins.attrNames cfg.files));
        ociImages = mkMerge (map (i: { ${i.ident} = { inherit (i) filesize fullsize; }; }) cfg.ociImages);
        dashboardEntries = mkMerge [
          (map zimEntry zimNames)
          (mkOrder 1200 (map filesPackageEntry filesPackages))
        ];
        proxy.files = map (p: { inherit (p) domain; folder = folderOf p; }) filesPackages;
      };

      assertions =
        map
          (name: {
            assertion = cfg.zims.${name}.sha256 == null || cfg.zims.${name}.checksum == null;
            message = "${h.originOf options "zims" name}: set either sha256 or checksum, not both.";
          })
          zimNames
        ++ map
          (name: {
            assertion = (cfg.files.${name}.url == null) != (cfg.files.${name}.content == null);
            message = "${h.originOf options "files" name}: set exactly one of url and content.";
          })
          (builtins.attrNames cfg.files);
    };
}
