# Options declared at known lines and columns (see option-attributes.nix).
{ lib, ... }:
{
  options.pos = {
    first = lib.mkOption { type = lib.types.int; default = 1; };
      second = lib.mkOption { type = lib.types.listOf lib.types.str; };
  };
}
