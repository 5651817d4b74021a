[ ((1).a or 2) (null.x or "n") ("s".y or "str") ]
