# nixspot's addition to nixpkgs' unknown-option error: up to three sibling options within a small Levenshtein distance (2, or 3 for names longer than 6), or sharing a prefix
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules { modules = [ ./mods/decl-basic.nix { _file = "checks/modules/err-unknown-suggestions.nix"; ex.required = "r"; ex.pert = "x"; } ]; }).config.ex.required
