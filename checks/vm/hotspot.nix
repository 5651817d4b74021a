# The hotspot the VM checks boot (`nixspot vm-test`, checks/vm/README.md): nixspot's
# base image, the real Belarusian Wikibooks ZIM, the dashboard, the captive portal, the
# reverse proxy and kiwix-serve — plus what the checks need under QEMU.
{ ... }:
let
  # The phone's tools (wpa_supplicant, iw, curl): the packages of the test-only lock
  # (client.nix) that nixspot's base image lacks, as plain .deb files in the data
  # partition, which the WiFi checks unpack in the guest. Never in hotspots users build.
  clientLock = builtins.fromJSON (builtins.readFile ./client.lock.json);
  baseLock = builtins.fromJSON (builtins.readFile ../../base/base.lock.json);
  clientOnly = builtins.filter (n: !(baseLock.packages ? ${n})) (builtins.attrNames clientLock.packages);
  clientDebs = builtins.listToAttrs (map
    (n:
      let p = clientLock.packages.${n}; in {
        name = "vmtest-client-${n}";
        value = {
          to = "/data/nixspot-vmtest/client/${n}.deb";
          inherit (p) url sha256 size;
        };
      })
    clientOnly);
in
{
  hotspot = {
    name = "nixspot VM check";
    domain = "vmcheck";
    tld = "hotspot";
    ap.ssid = "nixspot VM check";
    base.source = "nixspot:base";
    kiwix.enable = true;

    # The ZIM as a plain file, not a `zims` entry: the dashboard finds it at boot and
    # titles it from the ZIM's own metadata, which the content check compares with
    # what kiwix-serve reads.
    files = clientDebs // {
      wikibooks = {
        to = "/data/contents/zims/wikibooks_be_all_nopic_2017-02.zim";
        url = "https://github.com/openzim/zim-testing-suite/raw/v0.5/data/withns/wikibooks_be_all_nopic_2017-02.zim";
        sha256 = "99465e14effc7f951e9c017b4b3cee91967eb49c556d9f4f0d674adbe80d78c2";
        size = 152865;
      };
    };

    # Two client networks to capture: QEMU's user network, where the host's connections
    # through hostfwd come from (10.0.2.2), and the WiFi clients' DHCP range (the phone on
    # the second simulated radio), as the portal's default.
    captivePortal.capturedNetworks = [ "10.0.2.0/24" "192.168.144.128/25" ];
    # WPA2: the `wifi` check associates with this passphrase (and fails with another);
    # it reconfigures the access point through offspot.yaml for the open and hidden cases.
    ap.passphrase = "nixspot-vm-check";
    # Not the runtime's default (US): the `wifi` check finds it as the kernel's
    # regulatory domain, set by hostapd from the base image's wireless-regdb.
    ap.country = "FR";
    # Where the hotspot's DNS sends every name while offline: an address in QEMU's
    # network, which the checks add to the guest and reach through their own forward.
    ap.capturedAddress = "10.0.2.16";
    # Minutes: the portal check waits for the registration to expire.
    captivePortal.timeout = 1;
    # Deliberately invalid: the runtime must keep this key in offspot.yaml and report it.
    extraOffspotConfig.timezone = "Nowhere/Invalid";
  };
}
