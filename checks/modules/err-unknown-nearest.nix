# nixpkgs lib/modules.nix unknown-option error with suggestions (NixOS/nixpkgs#442263): sibling options within `levenshteinAtMost 2`, nearest first (`sortOn levenshtein`), at most three
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
  opt = mkOption { type = types.int; default = 0; };
in
(lib.evalModules {
  modules = [
    { options.shop = { card = opt; care = opt; cart = opt; cast = opt; cat = opt; core = opt; crate = opt; zcart = opt; }; }
    { _file = "checks/modules/err-unknown-nearest.nix"; shop.crat = 1; }
  ];
}).config.shop.cat
