let x = "world"; n = "1"; in [ "hello ${x}" "${x}${x}" "${n}" "a${"b${"c"}"}d" "${x}" ]
