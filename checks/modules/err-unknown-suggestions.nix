# nixpkgs lib/modules.nix unknown-option error with suggestions (NixOS/nixpkgs#442263): sibling options within Levenshtein distance 2, nearest first
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [ ./mods/decl-basic.nix { _file = "checks/modules/err-unknown-suggestions.nix"; ex.required = "r"; ex.pert = "x"; } ]; }).config.ex.required
