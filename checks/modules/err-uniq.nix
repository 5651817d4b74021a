# uniq rejects several definitions
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/uniq-decl.nix ./mods/uniq-a.nix ./mods/uniq-b.nix ]).u
