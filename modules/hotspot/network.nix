# WiFi access point, ethernet and WiFi firmware: options, and their offspot.yaml keys
# (`ap`, `ethernet`, `firmware`) with the checks the runtime would make.
{ config, options, lib, ... }:
let
  inherit (lib) mkOption types;
  h = import ./helpers.nix lib;
  cfg = config.hotspot;
  ipv4 = types.strMatching "([0-9]{1,3}\\.){3}[0-9]{1,3}";
  nonNull = lib.filterAttrs (n: v: v != null && v != [ ]);
  ssid = cfg.ap.ssid;
  pass = cfg.ap.passphrase;
in
{
  options.hotspot = {
    ap = {
      ssid = mkOption {
        type = types.str;
        default = config.hotspot.domain;
        defaultText = lib.literalExpression "hotspot.domain";
        example = "Kiwix Hotspot";
        description = "WiFi network name: 1 to 32 bytes, none of `+ ] / \" TAB`, not starting with `! # ;`.";
      };
      passphrase = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "offline-library";
        description = "WPA2 passphrase (8 to 63 printable ASCII characters); null for an open network.";
      };
      profile = mkOption {
        type = types.nullOr (types.enum [ "perf" "coverage" ]);
        default = null;
        example = "coverage";
        description = "`perf` (802.11ac, 5 GHz, needs a brcm4345 chip) or `coverage` (802.11n, 2.4 GHz); null lets the runtime choose (perf, falling back to coverage).";
      };
      country = mkOption {
        type = types.nullOr (types.strMatching "[A-Z]{2}");
        default = null;
        example = "FR";
        description = "Regulatory country code (ISO 3166-1 alpha-2); null keeps the runtime's default (US).";
      };
      channel24 = mkOption {
        type = types.nullOr (types.ints.between 1 13);
        default = null;
        example = 6;
        description = "2.4 GHz channel (offspot.yaml `channel_24`); null keeps the runtime's default (11).";
      };
      channel5 = mkOption {
        type = types.nullOr (types.enum [ 36 40 44 48 ]);
        default = null;
        example = 40;
        description = "5 GHz channel (offspot.yaml `channel_5`); null keeps the runtime's default (36).";
      };
      hide = mkOption {
        type = types.bool;
        default = false;
        description = "Whether to hide the SSID.";
      };
      asGateway = mkOption {
        type = types.bool;
        default = false;
        example = true;
        description = "Whether clients may reach the Internet through the hotspot's ethernet uplink (offspot.yaml `as-gateway`). The captive portal turns it on.";
      };
      spoof = mkOption {
        type = types.nullOr (types.enum [ "auto" true false ]);
        default = null;
        example = "auto";
        description = "Whether DNS answers every name with the hotspot (`true`), never (`false`), or only while offline (`auto`, the runtime's default when null).";
      };
      address = mkOption {
        type = types.nullOr ipv4;
        default = null;
        example = "192.168.144.1";
        description = "IPv4 address of the hotspot on the WiFi network; null keeps the runtime's default (192.168.144.1). The captive portal sets it.";
      };
      network = mkOption {
        type = types.nullOr (types.strMatching "([0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2}");
        default = null;
        example = "192.168.144.0/24";
        description = "WiFi network in CIDR notation; null derives it from `address`.";
      };
      dhcpRange = mkOption {
        type = types.nullOr (types.strMatching "[0-9.]+,[0-9.]+,[0-9.]+,[0-9]+[smhd]?");
        default = null;
        example = "192.168.144.2,192.168.144.254,255.255.255.0,1h";
        description = "dnsmasq DHCP range `start,end,mask,lease` (offspot.yaml `dhcp-range`).";
      };
      dns = mkOption {
        type = types.nullOr (types.listOf ipv4);
        default = null;
        example = [ "1.1.1.1" ];
        description = "Upstream DNS servers used when the hotspot is a gateway; null keeps [8.8.8.8, 1.1.1.1].";
      };
      capturedAddress = mkOption {
        type = types.nullOr ipv4;
        default = null;
        example = "198.51.100.1";
        description = "Address every name resolves to while spoofing (offspot.yaml `captured-address`).";
      };
      interface = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "wlan0";
        description = "WiFi interface; null keeps wlan0.";
      };
      otherInterfaces = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "Other interfaces dnsmasq also serves (`other-interfaces`).";
      };
      exceptInterfaces = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "Interfaces dnsmasq must ignore (`except-interfaces`).";
      };
      nodhcpInterfaces = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "Interfaces without DHCP (`nodhcp-interfaces`).";
      };
    };

    ethernet = {
      type = mkOption {
        type = types.enum [ "dhcp" "static" ];
        default = "dhcp";
        description = "How the ethernet port gets its address.";
      };
      address = mkOption {
        type = types.nullOr ipv4;
        default = null;
        example = "192.168.1.20";
        description = "Static address (a /24), required when `type = \"static\"`.";
      };
      routers = mkOption {
        type = types.listOf ipv4;
        default = [ ];
        example = [ "192.168.1.1" ];
        description = "Static gateways.";
      };
      dns = mkOption {
        type = types.listOf ipv4;
        default = [ ];
        example = [ "192.168.1.1" ];
        description = "Static DNS servers.";
      };
    };

    firmware = {
      brcm43455 = mkOption {
        type = types.nullOr (types.enum [ "raspios" "supports-19_2021-11-30" "supports-24_2021-10-05_noap+sta" "supports-32_2015-03-01_unreliable" ]);
        default = null;
        example = "supports-19_2021-11-30";
        description = "WiFi firmware for Pi 3B+/4/5 (brcm43455): the variants trade client count against stability. null keeps the base image's.";
      };
      brcm43430 = mkOption {
        type = types.nullOr (types.enum [ "raspios" "supports-30_2018-09-28" ]);
        default = null;
        example = "supports-30_2018-09-28";
        description = "WiFi firmware for Pi 3B/Zero 2 (brcm43430). null keeps the base image's.";
      };
    };
  };

  config = {
    hotspot.build.offspotConfig = {
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
      } // lib.optionalAttrs cfg.ap.hide { hide = true; };
      firmware = lib.mkIf (cfg.firmware.brcm43455 != null || cfg.firmware.brcm43430 != null)
        (nonNull { inherit (cfg.firmware) brcm43455 brcm43430; });
    };

    assertions = [
      {
        assertion = builtins.stringLength ssid >= 1 && builtins.stringLength ssid <= 32;
        message = "hotspot.ap.ssid ${h.where options.hotspot.ap.ssid}: ${builtins.toJSON ssid} must be 1 to 32 bytes long (it is ${toString (builtins.stringLength ssid)}).";
      }
      {
        assertion = builtins.match "[^]+/\"\t]*" ssid != null && builtins.match "[!#;].*" ssid == null;
        message = "hotspot.ap.ssid ${h.where options.hotspot.ap.ssid}: ${builtins.toJSON ssid} must not contain + ] / \" or TAB, nor start with ! # or ;.";
      }
      {
        assertion = pass == null || (builtins.stringLength pass >= 8 && builtins.stringLength pass <= 63 && builtins.match "[ -~]*" pass != null);
        message = "hotspot.ap.passphrase ${h.where options.hotspot.ap.passphrase}: a WPA2 passphrase must be 8 to 63 printable ASCII characters (it has ${toString (builtins.stringLength (if pass == null then "" else pass))}).";
      }
      {
        assertion = cfg.ethernet.type != "static" || cfg.ethernet.address != null;
        message = "hotspot.ethernet.address ${h.where options.hotspot.ethernet.type}: a static ethernet configuration needs an address.";
      }
    ];
  };
}
