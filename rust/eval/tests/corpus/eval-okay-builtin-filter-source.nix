builtins.filterSource (p: t: baseNameOf p != "sub") ./fixtures/dir
