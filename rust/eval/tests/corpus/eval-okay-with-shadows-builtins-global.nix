with { toString = x: "custom"; }; toString 1
