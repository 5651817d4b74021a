map builtins.parseDrvName [ "nix-0.12pre12876" "a-b-c-1.2" "hello" "hello-" "foo-bar-2.0-beta" "x-1y" "-1" "gcc-wrapper-12.2.0" ]
