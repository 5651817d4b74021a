# modules receive the options tree
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix ({ options, ... }: { ex.required = "r"; ex.name = options.ex.count.type.description; }) ]).ex.name
