# Evaluating this file twice must give equal values; the import cache makes it one value.
{ list = builtins.genList (i: i * i) 5; }
