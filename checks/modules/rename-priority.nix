# nixpkgs mkRenamedOptionModule keeps the priority of the old definitions (mkDefault on the old name loses to the new name)
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
in
let c = (lib.evalModules { modules = [ ./mods/rename-decl.nix { old.name = lib.mkDefault "old-default"; new.name = "new-plain"; } { alias.port = lib.mkForce 1; new.port = 2; } ]; }).config; in [ c.new.name c.new.port ]
