{ lib, ... }: { options.ro = lib.mkOption { type = lib.types.int; readOnly = true; default = 1; }; }
