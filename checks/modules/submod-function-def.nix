# a submodule definition may be a module function
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/submod-decl.nix { items.book = { name, ... }: { label = "fn ${name}"; }; } ]).items.book.label
