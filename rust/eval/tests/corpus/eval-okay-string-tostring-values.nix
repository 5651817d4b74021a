[ (toString true) (toString false) (toString null) (toString [ 1 "a" [ 2 null ] true ]) (toString "s") (toString 42) (toString [ ]) (toString [ [ ] [ ] ]) ]
