[ ("a" + "b") (baseNameOf (./fixtures + "/dir")) (builtins.isString ("x" + toString ./.)) ]
