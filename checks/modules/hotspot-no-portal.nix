# without the portal the AP keeps the runtime defaults; firmware and timezone are written
let
  nixspot = import ../../modules;
  recipe = modules: (nixspot.evalHotspot { inherit modules; }).config.build.recipe;
in
let r = recipe [ { hotspot.captivePortal.enable = false; hotspot.dashboard.enable = false; hotspot.ap.ssid = "Plain"; hotspot.timezone = "Europe/Paris"; hotspot.firmware.brcm43430 = "raspios"; } ]; in { inherit (r.offspot) ap timezone firmware; services = builtins.attrNames r.offspot.containers.services; }
