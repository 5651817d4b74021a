map builtins.splitVersion [ "1.2-pre" "pre1" "1.0alpha2" "2022-01-01" "v1.2" ]
