let r = { inherit (builtins) length head; inherit true null; }; in [ (r.length [ 1 ]) (r.head [ 2 ]) r.true r.null ]
