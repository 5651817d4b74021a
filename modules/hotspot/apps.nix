# Apps: offspot catalog apps (`kind = app`) or your own containers with a dashboard card.
# Each enabled app contributes its compose service, image, files (its download and
# placeholders for its bind mounts), dashboard card and reverse-proxy routes.
{ config, options, lib, ... }:
let
  inherit (lib) mkOption mkMerge mkOrder types literalExpression optionalAttrs;
  htypes = import ./types.nix lib;
  h = import ./helpers.nix lib;
  cfg = config.hotspot;
  catalog = import ../catalog.nix;

  appModule = { name, ... }:
    let c = if (catalog.packages.${name}.kind or "") == "app" then catalog.packages.${name} else { }; in
    {
      options = {
        enable = mkOption {
          type = types.bool;
          default = false;
          example = true;
          description = "Whether to install this app.";
        };
        domain = mkOption {
          type = types.strMatching "[a-z0-9][a-z0-9.-]*";
          description = "Sub-domain (and compose service name) of the app: `<domain>.<fqdn>`.";
          example = "resources";
        } // optionalAttrs (c ? domain) { default = c.domain; };
      } // import ./package-info.nix lib c // {
        image = mkOption {
          type = types.str;
          description = "OCI image reference of the app.";
          example = "ghcr.io/offspot/file-manager:1.4";
        } // optionalAttrs (c ? image) { default = c.image; };
        imageFilesize = mkOption {
          type = types.ints.unsigned;
          description = "Size of the image's docker-archive tar (bytes).";
        } // optionalAttrs (c ? imageFilesize) { default = c.imageFilesize; };
        imageFullsize = mkOption {
          type = types.ints.unsigned;
          description = "Size of the extracted image (bytes).";
        } // optionalAttrs (c ? imageFullsize) { default = c.imageFullsize; };
        download = {
          url = mkOption {
            type = types.nullOr types.str;
            default = c.downloadUrl or null;
            description = "Optional data the app needs, downloaded to `/data/contents/<download.to or ident>`.";
          };
          size = mkOption {
            type = types.nullOr types.ints.unsigned;
            default = c.downloadSize or null;
            description = "Size of the download (expanded size for archives).";
          };
          sha256 = mkOption {
            type = types.nullOr htypes.sha256;
            default = null;
            description = "SHA-256 of the download.";
          };
          checksum = mkOption {
            type = types.nullOr htypes.checksum;
            default = if c ? downloadChecksum then { kind = "digest"; } // c.downloadChecksum else null;
            description = "Checksum of the download (used when `sha256` is null).";
          };
          to = mkOption {
            type = types.nullOr types.str;
            default = c.downloadTo or null;
            description = "Folder name under `/data/contents/` (default: the ident).";
          };
          via = mkOption {
            type = types.str;
            default = c.downloadVia or "direct";
            description = "How the download is placed (zip, tar, direct, …).";
          };
        };
        environ = mkOption {
          type = types.attrsOf types.str;
          default = c.environ or { };
          description = "The app's own environment; values may use `\${FQDN}`, `\${PACKAGE_FQDN}`, `\${APP_DIR}`, `$environ{NAME}` and the other offspot variables.";
        };
        environMap = mkOption {
          type = types.attrsOf types.str;
          default = c.environMap or { };
          example = { ADMIN_PASSWORD = "PASSWORD"; };
          description = "Global variables (`hotspot.environment`, admin credentials) passed to the app: global name → container name.";
        };
        environment = mkOption {
          type = types.attrsOf types.str;
          default = { };
          example = { ACCESS_MODE = "read-only"; };
          description = "Your additional environment, applied last (same variables as `environ`).";
        };
        volumes = mkOption {
          type = types.listOf (types.strMatching "[^:]+:[^:]+(:[a-z,]+)?");
          default = c.volumes or [ ];
          example = [ "\${APP_DIR}:/data" ];
          description = "Bind mounts `host:container[:ro]`; host folders get a placeholder so the bind succeeds.";
        };
        links = mkOption {
          type = types.listOf types.str;
          default = c.links or [ ];
          description = "Compose `links` (`service[:alias]`).";
        };
        subServices = mkOption {
          type = types.attrsOf (types.strMatching "[^:]+:[0-9]+");
          default = c.subServices or { };
          example = { restbase = "\${PACKAGE_DOMAIN}:7231"; };
          description = "Extra sub-domains `<sub>.<domain>.<fqdn>` proxied to `target:port`.";
        };
        protectedBy = mkOption {
          type = types.nullOr (types.submodule {
            options = {
              username = mkOption { type = types.str; description = "User name (variables allowed)."; };
              password = mkOption { type = types.str; description = "Password (variables allowed)."; };
            };
          });
          default = if c ? protectedBy then { username = builtins.elemAt c.protectedBy 0; password = builtins.elemAt c.protectedBy 1; } else null;
          example = { username = "$environ{ADMIN_USERNAME}"; password = "$environ{ADMIN_PASSWORD}"; };
          description = "HTTP basic-auth protection of the app by the reverse proxy.";
        };
      };
    };
in
{
  options.hotspot.apps = mkOption {
    type = types.attrsOf (types.submodule appModule);
    default = { };
    example = literalExpression ''{ "file-manager.offspot.kiwix.org".enable = true; }'';
    description = "Apps by ident. Idents from offspot's catalog fill every option's default; other idents describe your own app.";
  };

  config =
    let
      inherit (h.variables cfg) environ resolveFor;
      apps = builtins.filter (a: a.enable) (lib.mapAttrsToList (ident: a: a // { inherit ident; }) cfg.apps);
      resolve = app: resolveFor app.ident app;
      volumes = app: map
        (v:
          let parts = lib.splitString ":" v; in
          {
            host = resolve app (builtins.elemAt parts 0);
            ctr = builtins.elemAt parts 1;
            ro = builtins.length parts > 2 && lib.hasInfix "ro" (builtins.elemAt parts 2);
          })
        app.volumes;
      service = app: {
        image = app.image;
        container_name = app.domain;
        pull_policy = "never";
        restart = "unless-stopped";
        expose = [ "80" ];
        environment =
          builtins.mapAttrs (n: v: resolve app v) app.environ
          // builtins.listToAttrs (lib.mapAttrsToList
            (global: local: { name = local; value = resolve app (environ.${global} or ""); })
            app.environMap)
          // builtins.mapAttrs (n: v: resolve app v) app.environment;
        volumes = map (v: h.bind v.host v.ctr v.ro) (volumes app);
      } // optionalAttrs (app.links != [ ]) { links = map (resolve app) app.links; };
      # Its download, then a placeholder for each bind-mounted folder, app after app.
      files = builtins.concatMap
        (app:
          lib.optional (app.download.url != null) {
            to = "${h.contents}/${if app.download.to != null then app.download.to else app.ident}";
            origin = h.originOf options "apps" app.ident + " download";
            inherit (app.download) url size via;
            checksum = h.checksumOf app.download;
          }
          ++ map (v: { touch = v.host; }) (volumes app))
        apps;
      fileAt = i: f:
        let order = h.order h.groups.apps i; in
        if f ? touch then h.touch order f.touch else h.file (f // { inherit order; });
      entry = app: {
        inherit (app) ident title description languages tags icon;
        kind = "app";
        url = "//${app.domain}.${cfg.fqdn}/";
      };
      filesPackageDomains = map (p: p.domain) (builtins.filter (p: p.enable) (builtins.attrValues cfg.filesPackages));
      domains = map (a: a.domain) apps;
      reserved = [ "browse" "zim-download" "zim-manager" "admin" "metrics" "hwclock" "files" "kiwix" "home" "home-portal" "reverse-proxy" "adminui" ];
    in
    {
      hotspot.build = {
        services = builtins.listToAttrs (map (app: { name = app.domain; value = service app; }) apps);
        ociImages = mkMerge (map (app: { ${app.image} = { filesize = app.imageFilesize; fullsize = app.imageFullsize; }; }) apps);
        files = mkMerge (lib.imap0 fileAt files);
        dashboardEntries = mkOrder 1100 (map entry apps);
        proxy.services = builtins.concatMap
          (app: [ app.domain ] ++ lib.mapAttrsToList
            (sub: target: resolve app "${sub}.${app.domain}:${target}")
            app.subServices)
          apps;
        proxy.protected = map
          (app: "${app.domain}:${resolve app app.protectedBy.username}:${resolve app app.protectedBy.password}")
          (builtins.filter (app: app.protectedBy != null) apps);
      };

      assertions = [{
        assertion = lib.duplicates (domains ++ filesPackageDomains) == [ ] && builtins.filter (d: builtins.elem d reserved) domains == [ ];
        message = "hotspot.apps / hotspot.filesPackages ${h.where options.hotspot.apps}: domains must be unique and not one of ${builtins.concatStringsSep ", " reserved} (got ${builtins.concatStringsSep ", " (domains ++ filesPackageDomains)}).";
      }];
    };
}
