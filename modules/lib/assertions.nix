# The `assertions` and `warnings` options (a module), as NixOS has them.
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options = {
    assertions = mkOption {
      type = types.listOf types.unspecified;
      internal = true;
      default = [ ];
      example = [{ assertion = false; message = "you can't enable this for that reason"; }];
      description = "Conditions `{ assertion, message }` that must hold; every failing one is reported, with its message, before any output is produced.";
    };
    warnings = mkOption {
      type = types.listOf types.str;
      internal = true;
      default = [ ];
      example = [ "The `foo' service is deprecated and will go away soon!" ];
      description = "Messages printed (as Nix traces) when the output is evaluated.";
    };
  };
}
