{ lib, ... }: { options.srv = lib.mkOption { type = lib.types.attrsOf (lib.types.submodule { options.port = lib.mkOption { type = lib.types.port; default = 80; }; }); default = { }; }; }
