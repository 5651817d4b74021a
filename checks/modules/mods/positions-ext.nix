# A second declaration of an option (submodule types merge).
{ lib, ... }:
{
  options.pos.sub = lib.mkOption { type = lib.types.submodule { options.a = lib.mkOption { default = 1; }; }; };
}
