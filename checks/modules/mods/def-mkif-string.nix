{ lib, ... }: { ex.count = lib.mkIf "yes" 5; }
