# Who the hotspot is: its name, domain names, hostname, time zone and advertised version.
{ config, lib, ... }:
let
  inherit (lib) mkOption types literalExpression;
in
{
  options.hotspot = {
    name = mkOption {
      type = types.str;
      default = "My Offspot";
      example = "Kiwix Hotspot";
      description = "Human name of the hotspot, shown by the dashboard and the captive portal.";
    };
    domain = mkOption {
      type = types.strMatching "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
      default = "my-offspot";
      example = "kiwix";
      description = "Host part of the hotspot's address: the dashboard answers at `<domain>.<tld>`.";
    };
    tld = mkOption {
      type = types.strMatching "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
      default = "offspot";
      example = "hotspot";
      description = "Top-level domain served by the hotspot's DNS. Must not be one of example, invalid, local, localhost, onion, test.";
    };
    welcomeDomain = mkOption {
      type = types.str;
      default = "goto.kiwix";
      example = "go.library";
      description = "Second name that redirects to the dashboard: `<welcomeDomain>.<tld>`.";
    };
    fqdn = mkOption {
      type = types.str;
      readOnly = true;
      default = "${config.hotspot.domain}.${config.hotspot.tld}";
      defaultText = literalExpression ''"''${hotspot.domain}.''${hotspot.tld}"'';
      description = "The dashboard's fully qualified domain name (computed).";
    };
    hostname = mkOption {
      type = types.strMatching "[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*";
      default = config.hotspot.domain;
      defaultText = literalExpression "hotspot.domain";
      example = "library-pi";
      description = "Hostname of the device (offspot.yaml `hostname`).";
    };
    timezone = mkOption {
      type = types.strMatching "[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*";
      default = "UTC";
      example = "Africa/Dakar";
      description = "Time zone of the device (offspot.yaml `timezone`). offspot's builder always writes UTC; nixspot honours this option.";
    };
    variant = mkOption {
      type = types.str;
      default = "";
      example = "Wikipedia";
      description = "Variant name written into `/data/etc/offspot.json`.";
    };
    publicVersion = mkOption {
      type = types.str;
      default = "v2.10.5";
      example = "v1.0";
      description = "Version advertised by the dashboard and `/data/etc/offspot.json` (offspot-config's own version by default, whose rendering nixspot follows).";
    };
    environment = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = { CONTACT = "librarian@example.org"; };
      description = "Global variables apps can use as `$environ{NAME}` and through their `environMap`. `ADMIN_USERNAME` and `ADMIN_PASSWORD` come from `hotspot.admin`.";
    };
    admin = {
      username = mkOption {
        type = types.str;
        default = "admin";
        example = "librarian";
        description = "User name of the admin UI, the ZIM manager and other protected services.";
      };
      password = mkOption {
        type = types.str;
        default = "";
        example = "correct horse battery staple";
        description = "Password of the admin UI, the ZIM manager and other protected services. It ends up in the image (compose environment); nixspot never prints it in logs. Empty gives a warning when a service uses it.";
      };
    };
  };
}
