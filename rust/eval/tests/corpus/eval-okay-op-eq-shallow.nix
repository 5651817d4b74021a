# `==` and `!=` answered without walking the values: strings (context ignored), null
# against anything, Booleans, and a list or set against an empty one (whose other
# side's values are never forced).
let
  drv = derivation { name = "d"; system = "x"; builder = "/b"; };
in
[
  ([ ] == [ ]) ([ ] != [ 1 ]) ([ (throw "not forced") ] == [ ]) ({ } == { }) ({ a = 1; } == { })
  ({ } != { a = throw "not forced"; }) ([ ] == { }) ({ } == drv)
  (null == null) (null == false) (0 == null) (null == [ ]) (null == { }) ("" == null) (null != 0.0)
  ("${drv}" == drv.outPath) ("a${drv}" != "a") (true == true) (true != false) (false == 0)
  ("x" == "x") ("abcdefghijklmnopqrstuvwxyz" == "abcdefghijklmnopqrstuvwxyz") ("a" == "b") ("ab" == "a")
]
