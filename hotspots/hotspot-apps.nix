# A community hotspot with apps: the catalog's File Manager and Magoé, a wiki app of our
# own with sub-services (its REST and math back ends) protected by the admin password,
# the admin UI, metrics and the hardware clock, a static ethernet uplink.
{ lib, ... }:
{
  hotspot = {
    name = "Community Library";
    domain = "library";
    tld = "offspot";
    ap = {
      ssid = "Community Library";
      passphrase = "knowledge-for-all";
    };
    ethernet = {
      type = "static";
      address = "192.168.1.20";
      routers = [ "192.168.1.1" ];
      dns = [ "192.168.1.1" ];
    };
    base.source = "https://drive.offspot.it/base/offspot-base-arm64-1.4.2.img";
    writeConfig = true;

    admin = {
      username = "librarian";
      password = "read-more-books";
    };
    adminUI.enable = true;
    metrics.enable = true;
    hwclock.enable = true;

    apps = {
      "file-manager.offspot.kiwix.org" = {
        enable = true;
        environment.ACCESS_MODE = "read-only";
      };
      "magoe.offspot.kiwix.org".enable = true;
      "wiki.library.example" = {
        enable = true;
        domain = "wiki";
        title = "Community wiki";
        description = "Notes written by the library's members";
        languages = [ "eng" ];
        tags = [ "wiki" ];
        image = "ghcr.io/offspot/wikifundi:1.0";
        imageFilesize = 1562818560;
        imageFullsize = 1562640384;
        environ = {
          SITE_URL = "http://\${PACKAGE_FQDN}";
          CONTACT = "$environ{CONTACT}";
        };
        environMap.ADMIN_PASSWORD = "WIKI_ADMIN_PASSWORD";
        volumes = [ "\${APP_DIR}:/var/www/data" "\${BRANDING_PATH}:/var/www/branding:ro" ];
        subServices = {
          restbase = "\${PACKAGE_DOMAIN}:7231";
          mathoid = "\${PACKAGE_DOMAIN}:10044";
        };
        protectedBy = {
          username = "$environ{ADMIN_USERNAME}";
          password = "$environ{ADMIN_PASSWORD}";
        };
      };
    };
    environment.CONTACT = "librarian@library.example";
  };
}
