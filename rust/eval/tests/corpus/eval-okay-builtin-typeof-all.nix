map builtins.typeOf [ 1 1.5 "s" ./. null false [ ] { } (x: x) builtins.head ]
