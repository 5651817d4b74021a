[ (./fixtures == ./fixtures) (/a/b == /a/b) ((/a + "/b") == /a/b) ("/a" == /a) ]
