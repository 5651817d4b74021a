let s = { x = 1; }; in { inherit (s) x; inherit (throw "unused") missing; }.x
