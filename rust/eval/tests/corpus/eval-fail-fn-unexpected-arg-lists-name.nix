({ alpha, beta }: 1) { alpha = 1; beta = 2; gamma = 3; }
