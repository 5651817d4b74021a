# package accepts a derivation-like set
let
  lib = import ../../modules/lib;
  eval = modules: (lib.evalModules { inherit modules; }).config;
  inherit (lib) mkOption types;
in
(eval [ ({ lib, ... }: { options.pk = lib.mkOption { type = lib.types.package; }; }) { pk = { type = "derivation"; name = "hello"; outPath = "/nix/store/x-hello"; }; } ]).pk.name
