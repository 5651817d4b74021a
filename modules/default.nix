# Entry point of nixspot's Nix side, used by the flake and by the `nixspot` binary:
#   (import ./modules).evalHotspot { modules = [ ./hotspots/hotspot-demo.nix ]; }
let
  lib = import ./lib;
  root = toString ./.;
  hotspotModules = [ ./hotspot ];
  evalHotspot = { modules, specialArgs ? { } }:
    lib.evalModules {
      modules = hotspotModules ++ modules;
      inherit specialArgs;
    };
in
{
  inherit lib hotspotModules evalHotspot;
  catalog = import ./catalog.nix;

  # The option reference: every visible option, with type, default, example and the
  # declaring file relative to this directory (so the output has no host paths).
  optionsDoc =
    let
      relativize = f:
        let s = toString f; in
        if lib.hasPrefix (root + "/") s then lib.removePrefix (root + "/") s else s;
    in
    builtins.filter (o: !(lib.hasPrefix "_module" o.name))
      (lib.optionsToDocList relativize (evalHotspot { modules = [ ]; }).options);
}
