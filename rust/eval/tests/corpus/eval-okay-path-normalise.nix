[ (baseNameOf ./fixtures/dir/../hello.txt) (baseNameOf ./fixtures/./dir/.) (./fixtures/dir/.. == ./fixtures) ]
