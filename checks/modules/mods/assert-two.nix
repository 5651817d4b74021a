# Two failing assertions and one passing one.
{ config, lib, ... }:
{
  imports = [ lib.assertionsModule ./decl-basic.nix ];
  ex.required = "x";
  assertions = [
    { assertion = config.ex.count > 5; message = "ex.count must be greater than 5 (it is ${toString config.ex.count})"; }
    { assertion = true; message = "never shown"; }
    { assertion = config.ex.name != "hotspot"; message = "ex.name must not stay the default"; }
  ];
}
