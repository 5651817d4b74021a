[ (baseNameOf ./fixtures/hello.txt) (baseNameOf ./fixtures) (baseNameOf ./.) (baseNameOf "/a/b/c") (baseNameOf "/a/b/") (baseNameOf "") (baseNameOf "noslash") ]
