# The phone's tools for the VM checks `wifi`, `captive` and `isolation` (checks/vm/README.md):
# nixspot's base image description plus the WiFi client (wpa_supplicant, iw) and curl,
# resolved and pinned like the base itself:
#
#   nixspot base lock --update checks/vm/client.nix     # writes checks/vm/client.lock.json
#
# Only the test hotspot (hotspot.nix) carries them, as plain files in its data partition
# (the packages of this lock that nixspot's base image does not have); the checks unpack
# them in the guest's /run. Hotspots users build never see them.
let
  base = import ../../base/base.nix;
in
base // {
  name = "nixspot-vmtest-client";
  packages = base.packages ++ [
    "curl" # HTTP as a phone's captive-portal probe sends it (status, headers, body)
    "iw" # scans (is the SSID broadcast?) and open-network association
    "wpasupplicant" # WPA2-PSK association, as phones do it
  ];
}
