[ ("é" < "f") ("Z" < "a") ("a" < "ab") ("" == "") (builtins.sort builtins.lessThan [ "b" "B" "é" "a" "_" "1" ]) ]
