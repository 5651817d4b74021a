let p = /some/abs; in [ ("prefix-" + toString p) (builtins.typeOf ("x" + "y")) ]
