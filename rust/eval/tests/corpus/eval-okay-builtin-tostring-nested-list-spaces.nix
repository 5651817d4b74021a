[ (toString [ [ ] "a" [ ] "b" ]) (toString [ null ]) (toString [ "" "" ]) ]
