map builtins.splitVersion [ "1.2.3" "2.3pre1" "1.0-rc.2" "" "a.b" "1..2" "10abc20" "1_2-3" ]
