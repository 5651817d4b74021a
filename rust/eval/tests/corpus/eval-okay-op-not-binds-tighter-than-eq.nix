[ (!true == false) ((!true) == false) ]
