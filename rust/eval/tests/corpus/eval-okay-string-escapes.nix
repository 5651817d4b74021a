[ "a\nb" "tab\there" "cr\r" "back\\slash" "dollar\${x}" "quote\"" "unknown\q\z" "$" "$$" "a$b" "\$" ]
