# nixpkgs: a value of another _type (here an evaluated configuration) is not a module
let
  lib = import ../../modules/lib;
in
(lib.evalModules {
  modules = [{
    _file = "checks/modules/err-not-a-module.nix";
    imports = [ (lib.evalModules { modules = [ ]; }) ];
  }];
}).config
