[ (toString /etc/passwd) (toString /a/b/../c) (/x/y == /x/y) (builtins.typeOf /x) ]
