[ (true && false) (true || false) (!true) (!false) (false -> true) (true -> false) (false -> throw "lazy") (true || throw "lazy") (false && throw "lazy") ]
