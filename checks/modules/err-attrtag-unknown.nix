# nixpkgs types.attrTag: an unknown tag fails the type check
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
  source = import ./mods/attrtag-source.nix lib;
in
(lib.evalModules {
  modules = [{
    _file = "checks/modules/err-attrtag-unknown.nix";
    options.src = mkOption { type = source; };
    config.src.ftp = "u";
  }];
}).config.src
