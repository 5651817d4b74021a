{ lib, ... }: { options.dup = lib.mkOption { type = lib.types.int; default = 1; }; }
