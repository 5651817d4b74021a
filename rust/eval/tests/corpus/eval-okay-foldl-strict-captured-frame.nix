# foldl' reuses the frame holding the accumulator only while nothing kept it: here
# every step's result captures it (a closure and a plain reference).
let
  r = builtins.foldl' (acc: x: { prev = acc; get = _: acc; n = x; }) { n = 0; } [ 1 2 3 ];
  s = builtins.foldl' ({ a }: x: { a = a + x; }) { a = 0; } [ 1 2 3 ];
  t = builtins.foldl' (acc: x: acc ++ [ (y: acc) x ]) [ ] [ 4 5 ];
in [ r.n r.prev.n (r.get null).n ((r.get null).get null).n r.prev.prev.prev.n s.a (builtins.length ((builtins.elemAt t 2) null)) (builtins.elemAt t 3) ]
