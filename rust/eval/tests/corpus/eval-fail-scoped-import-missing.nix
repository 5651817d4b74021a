scopedImport { } ./lib/no-such-file.nix
