let b = builtins; in [ (b ? map) (b ? head) (b ? fromJSON) (b ? builtins) (builtins.builtins ? map) (b ? doesNotExist) (builtins.isAttrs b) ]
