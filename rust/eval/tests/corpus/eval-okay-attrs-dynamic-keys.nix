let k = "dyn"; in { ${k} = 1; "${k}2" = 2; ${"with space"} = 3; a.${k} = 4; }
