"${toString 0.5}"
