# nixpkgs option attributes: declarationPositions (file, line, column of each declaration), definitionsWithLocations, files, highestPrio, isDefined
let
  lib = import ../../modules/lib;
  inherit (lib) mkOption types;
  # Host paths are cut down to the fixture directory.
  rel = s: builtins.replaceStrings [ (toString ./.) ] [ "." ] s;
in
let
  e = lib.evalModules { modules = [
    ./mods/positions-decl.nix ./mods/positions-ext.nix ./mods/positions-ext2.nix
    { pos.second = [ "a" ]; }
    { pos.second = lib.mkDefault [ "dropped" ]; }
    { pos.second = lib.mkBefore [ "b" ]; }
    { pos.sub = { }; }
    { pos.second = lib.mkDefinition { file = "given-file.nix"; value = [ "d" ]; }; }
  ]; };
  o = e.options.pos;
  positions = opt: map (p: p // { file = rel (toString p.file); }) opt.declarationPositions;
in {
  firstPositions = positions o.first;
  secondPositions = positions o.second;
  subPositions = positions o.sub;
  subValue = removeAttrs e.config.pos.sub [ "_module" ];
  second = e.config.pos.second;
  secondDefs = map (d: d // { file = rel d.file; }) o.second.definitionsWithLocations;
  secondFiles = map rel o.second.files;
  inherit (o.first) isDefined highestPrio;
  secondPrio = o.second.highestPrio;
  firstFiles = map rel o.first.files;
}
