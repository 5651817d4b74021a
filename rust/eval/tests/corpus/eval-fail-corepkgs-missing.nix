import <nix/derivation.nix>
