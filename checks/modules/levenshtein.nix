# nixpkgs lib.strings.levenshtein and lib.strings.levenshteinAtMost (the examples of nixpkgs' function reference), on which the unknown-option suggestions rest
let
  lib = import ../../modules/lib;
  inherit (lib.strings) levenshtein levenshteinAtMost;
in
{
  distances = [ (levenshtein "foo" "foo") (levenshtein "book" "hook") (levenshtein "hello" "Heyo") (levenshtein "" "abc") (levenshtein "crat" "cart") ];
  atMost = [
    (levenshteinAtMost 0 "foo" "foo")
    (levenshteinAtMost 1 "foo" "boa")
    (levenshteinAtMost 2 "foo" "boa")
    (levenshteinAtMost 2 "This is a sentence" "this is a sentense.")
    (levenshteinAtMost 3 "This is a sentence" "this is a sentense.")
    (levenshteinAtMost 2 "ab" "abcde")
  ];
}
