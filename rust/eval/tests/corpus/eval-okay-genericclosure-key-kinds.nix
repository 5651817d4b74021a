# genericClosure with keys coming in descending order, string keys (with repeats),
# integer and float keys that are equal (1 and 1.0: the first one stays), and list keys.
let
  down = builtins.genericClosure {
    startSet = [ { key = 300; } ];
    operator = x: if x.key <= 0 then [ ] else [ { key = x.key - 1; } { key = x.key / 2; } ];
  };
  strings = builtins.genericClosure {
    startSet = [ { key = "k-9"; n = 9; } ];
    operator = x: if x.n <= 0 then [ ] else [ { key = "k-${toString (x.n - 1)}"; n = x.n - 1; } { key = "k-${toString (x.n / 2)}"; n = x.n / 2; } ];
  };
  numbers = builtins.genericClosure {
    startSet = [ { key = 1; tag = "int"; } { key = 1.0; tag = "float"; } { key = 2.5; tag = "float"; } { key = 2; tag = "int"; } ];
    operator = x: [ ];
  };
  lists = builtins.genericClosure {
    startSet = [ { key = [ 1 2 ]; } { key = [ 1 ]; } { key = [ 1 2 ]; } ];
    operator = x: [ ];
  };
in
[
  (builtins.length down)
  (builtins.head down).key
  (map (x: x.key) strings)
  (map (x: x.tag) numbers)
  (builtins.length lists)
]
