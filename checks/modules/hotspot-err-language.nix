# hotspot.language must be a language tag (strMatching), the error naming the option and the defining file
let
  nixspot = import ../../modules;
in
(nixspot.evalHotspot { modules = [ ./mods/hotspot-bad-language.nix ]; }).config.build.offspotConfig.services.portal
