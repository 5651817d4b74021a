({ a ? 1, ... }@all: [ a (builtins.attrNames all) ]) { b = 2; c = 3; }
