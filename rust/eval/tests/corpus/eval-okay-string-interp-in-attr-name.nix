let k = "key"; in { "${k}1" = 1; "lit eral" = 2; ${k} = 3; "${k}-x".y = 4; }
