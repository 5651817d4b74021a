# Who the hotspot is: its name, domain names, hostname, time zone and advertised version;
# it contributes `offspot.yaml`'s `timezone` and `hostname` and `/data/etc/offspot.json`.
{ config, options, lib, ... }:
let
  inherit (lib) mkOption types literalExpression;
  h = import ./helpers.nix lib;
  cfg = config.hotspot;
  tldBlacklist = [ "example" "invalid" "local" "localhost" "onion" "test" ];

  # What the dashboard and the admin UI show about the image (offspot-config's
  # offspot.json, keys in its order).
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
in
{
  options.hotspot = {
    name = mkOption {
      type = types.str;
      default = "My Offspot";
      example = "Kiwix Hotspot";
      description = "Human name of the hotspot, shown by the dashboard and the captive portal.";
    };
    language = mkOption {
      type = types.nullOr (types.strMatching "[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*");
      default = null;
      example = "fr";
      description = "Language of the dashboard and the captive portal (nixspot's base image) for a visitor whose phone asks for no language they speak; they speak English, French and Spanish, and any other language falls back to English. `null`: English. Sets the dashboard's home.yaml `metadata.language` and `services.portal.language`.";
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

  config = {
    hotspot.build.offspotConfig = {
      timezone = cfg.timezone;
      hostname = cfg.hostname;
    };
    hotspot.build.files = h.file {
      to = "/data/etc/offspot.json";
      order = h.order h.groups.offspotJson 0;
      origin = "hotspot.variant";
      content = offspotJson;
    };
    assertions = [
      {
        assertion = !(builtins.elem cfg.tld tldBlacklist);
        message = "hotspot.tld ${h.where options.hotspot.tld}: `${cfg.tld}' is reserved; use something other than ${builtins.concatStringsSep ", " tldBlacklist}.";
      }
      {
        assertion = builtins.stringLength cfg.hostname <= 255;
        message = "hotspot.hostname ${h.where options.hotspot.hostname}: at most 255 characters.";
      }
    ];
  };
}
