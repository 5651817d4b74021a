[ (true -> false -> true) (!false -> false) ]
