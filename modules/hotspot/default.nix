# Every option of a Kiwix Hotspot, and the recipe built from them: each concern module
# declares its options and contributes to `hotspot.build` (build.nix), which recipe.nix
# serialises.
{
  imports = [
    ./build.nix
    ./identity.nix
    ./network.nix
    ./base.nix
    ./lock.nix
    ./content.nix
    ./apps.nix
    ./services.nix
    ./branding/default.nix
    ./recipe.nix
  ];
}
