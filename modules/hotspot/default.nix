# Every option of a Kiwix Hotspot, and the recipe built from them.
{
  imports = [
    ./identity.nix
    ./network.nix
    ./base.nix
    ./content.nix
    ./apps.nix
    ./services.nix
    ./recipe.nix
  ];
}
