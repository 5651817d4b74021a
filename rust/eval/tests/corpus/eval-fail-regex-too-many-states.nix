# More than libstdc++'s 100000 NFA states: error_space, which Nix reports as a memory limit.
builtins.match "(a{1000}){1000}" ""
