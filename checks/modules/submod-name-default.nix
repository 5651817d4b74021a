# submodule options see `name' and their own config
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/submod-decl.nix { items.book.size = 2; items.pen = { }; } ]).items
