[ (import <greeting.nix>) (import <pkgdir>).name (builtins.readFile <data.txt>) (import <corpus/value.nix>).y (baseNameOf <corpus>) ]
