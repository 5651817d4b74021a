# Declares a few options of every common type (shared by several fixtures).
{ lib, ... }:
let inherit (lib) mkOption types; in
{
  options.ex = {
    name = mkOption { type = types.str; default = "hotspot"; };
    count = mkOption { type = types.int; default = 1; };
    enable = lib.mkEnableOption "the example";
    port = mkOption { type = types.port; default = 80; };
    tags = mkOption { type = types.listOf types.str; default = [ ]; };
    env = mkOption { type = types.attrsOf types.str; default = { }; };
    text = mkOption { type = types.lines; default = ""; };
    mode = mkOption { type = types.enum [ "a" "b" ]; default = "a"; };
    required = mkOption { type = types.str; };
    maybe = mkOption { type = types.nullOr types.int; default = null; };
  };
}
