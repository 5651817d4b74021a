map builtins.parseDrvName [ "firefox-91.0.2" "perl5.34-Foo-Bar-1.0" "name-with-dashes" "1.0" "a-1-2-3" "abc-" "-" ]
