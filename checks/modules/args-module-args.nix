# _module.args reach module functions
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ./mods/decl-basic.nix ./mods/needs-arg.nix { ex.required = "r"; _module.args.site = { name = "from-args"; }; } ]).ex.name
