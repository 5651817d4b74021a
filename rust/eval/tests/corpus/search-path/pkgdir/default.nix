{ name = "pkgdir"; answer = 42; }
