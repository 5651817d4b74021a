# The hotspot the VM checks boot (`nixspot vm-test`, checks/vm/README.md): nixspot's
# base image, the real Belarusian Wikibooks ZIM, the dashboard, the captive portal, the
# reverse proxy and kiwix-serve — plus what the checks need under QEMU.
{ ... }:
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
    files.wikibooks = {
      to = "/data/contents/zims/wikibooks_be_all_nopic_2017-02.zim";
      url = "https://github.com/openzim/zim-testing-suite/raw/v0.5/data/withns/wikibooks_be_all_nopic_2017-02.zim";
      sha256 = "99465e14effc7f951e9c017b4b3cee91967eb49c556d9f4f0d674adbe80d78c2";
      size = 152865;
    };

    # QEMU's user network: the host's connections through hostfwd come from 10.0.2.2,
    # so that is the client network the portal must capture.
    captivePortal.capturedNetworks = [ "10.0.2.0/24" ];
    # Where the hotspot's DNS sends every name while offline: an address in QEMU's
    # network, which the checks add to the guest and reach through their own forward.
    ap.capturedAddress = "10.0.2.16";
    # Minutes: the portal check waits for the registration to expire.
    captivePortal.timeout = 1;
    # Deliberately invalid: the runtime must keep this key in offspot.yaml and report it.
    extraOffspotConfig.timezone = "Nowhere/Invalid";
  };
}
