map builtins.isPath [ ./. /a "/a" (./. + "/x") (builtins.toPath "/a") ]
