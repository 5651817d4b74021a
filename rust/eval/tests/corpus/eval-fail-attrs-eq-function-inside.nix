let f = x: x; in { a = f; b = (y: y); } == { a = f; b = (y: y); } || throw "functions compared false"
