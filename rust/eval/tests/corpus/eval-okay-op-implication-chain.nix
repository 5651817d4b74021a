[ (true -> true) (false -> false) ]
