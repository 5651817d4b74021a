# errors inside submodules show the full path
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/submod-decl.nix ./mods/submod-bad.nix ]).items.book.size
