# definitions of one submodule from two modules merge
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/submod-decl.nix { items.book.size = 2; } { items.book.label = "Book"; } ]).items.book.label
