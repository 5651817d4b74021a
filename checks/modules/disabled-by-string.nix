# nixpkgs disabledModules by string: relative to specialArgs.modulesPath, or absolute
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
[
  (lib.evalModules { specialArgs.modulesPath = ./mods; modules = [
    ./mods/decl-basic.nix ./mods/disable-target.nix
    { disabledModules = [ "disable-target.nix" ]; ex.required = "r"; }
  ]; }).config.ex.tags
  (lib.evalModules { modules = [
    ./mods/decl-basic.nix ./mods/disable-target.nix
    { disabledModules = [ (toString ./mods/disable-target-child.nix) ]; ex.required = "r"; }
  ]; }).config.ex.tags
]
