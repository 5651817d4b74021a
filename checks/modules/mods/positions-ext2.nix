{ lib, ... }: { options.pos.sub = lib.mkOption { type = lib.types.submodule { options.b = lib.mkOption { default = 2; }; }; }; }
