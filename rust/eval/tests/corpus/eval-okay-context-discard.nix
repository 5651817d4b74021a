let s = "${./fixtures/hello.txt}"; in [ (builtins.unsafeDiscardStringContext s == s) (builtins.getContext (builtins.unsafeDiscardStringContext s)) ]
