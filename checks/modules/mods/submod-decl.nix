{ lib, ... }:
let inherit (lib) mkOption types; in
{
  options.items = mkOption {
    type = types.attrsOf (types.submodule ({ name, config, ... }: {
      options = {
        label = mkOption { type = types.str; default = "item ${name}"; };
        size = mkOption { type = types.ints.unsigned; default = 0; };
        double = mkOption { type = types.int; default = config.size * 2; };
      };
    }));
    default = { };
  };
}
