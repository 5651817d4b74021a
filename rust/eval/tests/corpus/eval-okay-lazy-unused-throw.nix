let x = throw "unused"; y = abort "unused too"; in 1
