builtins.toXML "tab\there\nnewline é \"q\" <&>"
