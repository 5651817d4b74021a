"x${toString 2.5}y${toString 1}"
