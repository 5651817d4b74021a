[ (1 == "1") (null == null) (null == false) ([ ] == { }) ("a" == "a") (true == true) (1.5 == 1.5) ]
