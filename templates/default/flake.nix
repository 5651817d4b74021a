{
  description = "My Kiwix Hotspot, built with nixspot";

  inputs.nixspot.url = "github:nixspot/nixspot";

  outputs = { self, nixspot }:
    let
      system = "x86_64-linux";
    in
    {
      # `nix eval .#hotspots.my-hotspot.recipe --json` shows the image-creator recipe.
      hotspots.my-hotspot = nixspot.lib.evalHotspot { modules = [ ./hotspot.nix ]; };

      # `nix build` → result/my-hotspot.img
      packages.${system}.default = nixspot.lib.mkHotspotImage {
        name = "my-hotspot";
        modules = [ ./hotspot.nix ];
        nixspot = nixspot.packages.${system}.nixspot;
        inherit system;
      };
    };
}
