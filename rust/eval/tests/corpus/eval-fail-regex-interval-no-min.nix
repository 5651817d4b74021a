# libstdc++ (extended) rejects this pattern, so Nix does.
builtins.match "a{,2}" "x"
