{ lib, ... }: { options.u = lib.mkOption { type = lib.types.uniq (lib.types.listOf lib.types.int); }; }
