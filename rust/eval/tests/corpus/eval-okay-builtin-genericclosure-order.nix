map (x: x.key) (builtins.genericClosure { startSet = [ { key = 5; } ]; operator = x: if x.key <= 0 then [ ] else [ { key = x.key - 1; } { key = x.key - 2; } ]; })
