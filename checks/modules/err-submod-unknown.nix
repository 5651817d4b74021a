# unknown option inside a submodule
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/submod-decl.nix ./mods/submod-typo.nix ]).items.book.label
