# a submodule option declared in two modules gets both sets of options
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/ext-submod-a.nix ./mods/ext-submod-b.nix { srv.web.port = 8080; } ]).srv.web
