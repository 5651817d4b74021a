builtins.getContext (builtins.appendContext "x" { "/nix/store/vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo" = { path = true; }; })
