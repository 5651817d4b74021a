# hotspot.language: the visitor's fallback language reaches the dashboard (home.yaml metadata.language) and nixspot's captive portal (offspot.yaml services.portal.language); unset, neither carries it
let
  nixspot = import ../../modules;
  eval = extra: (nixspot.evalHotspot {
    modules = [{
      hotspot = {
        name = "Bibliothèque";
        base.source = "nixspot:base";
      } // extra;
    }];
  }).config.build;
in
{
  french = { inherit ((eval { language = "fr"; }).dashboard) metadata; portal = (eval { language = "fr"; }).offspotConfig.services.portal; };
  unset = { inherit ((eval { }).dashboard) metadata; portal = (eval { }).offspotConfig.services.portal; };
}
