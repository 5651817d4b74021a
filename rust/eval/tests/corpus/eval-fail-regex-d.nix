# libstdc++ (extended) rejects this pattern, so Nix does.
builtins.match "\\d" "x"
