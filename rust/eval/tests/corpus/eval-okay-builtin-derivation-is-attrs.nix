[ (builtins.isAttrs (derivation { name = "a"; system = "x"; builder = "/b"; })) (builtins.typeOf (derivation { name = "a"; system = "x"; builder = "/b"; })) ]
