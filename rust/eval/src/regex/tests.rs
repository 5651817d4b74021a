//! Expectations recorded from Nix 2.8 (`nix-instantiate --eval --strict --json`); the
//! corpus checks many more against a live Nix.

use super::{Found, Regex, Span};

fn full(re: &str, text: &str) -> Option<Vec<Span>> {
    Regex::new(re.as_bytes())
        .expect("compiles")
        .full_match(text.as_bytes())
}

fn split(re: &str, text: &str) -> Vec<Found> {
    Regex::new(re.as_bytes())
        .expect("compiles")
        .split(text.as_bytes())
}

fn spans(found: &[Found]) -> Vec<(usize, usize)> {
    found.iter().map(|f| (f.start, f.end)).collect()
}

#[test]
fn a_greedy_repetition_that_matched_does_not_back_off_for_a_longer_alternative() {
    // `a*` takes "aa", then `b` matches: libstdc++ never tries `a*` = "a" + "abc".
    let m = split("a*(b|abc)", "xaabcx");
    assert_eq!(spans(&m), [(1, 4)]);
    assert_eq!(m[0].groups, [Some((3, 4))]);
}

#[test]
fn alternation_keeps_the_longer_side() {
    let m = split("(a|ab)(c|bcd)", "abcd");
    assert_eq!(spans(&m), [(0, 4)]);
    assert_eq!(m[0].groups, [Some((0, 1)), Some((1, 4))]);
}

#[test]
fn a_repetition_may_match_empty_twice() {
    assert_eq!(full("(|a)+", "aa"), Some(vec![Some((2, 2))]));
    let m = split("(a*)+", "baab");
    assert_eq!(spans(&m), [(0, 0), (1, 3), (3, 3), (4, 4)]);
    assert_eq!(m[1].groups, [Some((3, 3))]);
}

#[test]
fn empty_matches_advance_like_the_regex_iterator() {
    assert_eq!(spans(&split("", "ab")), [(0, 0), (1, 1), (2, 2)]);
    assert_eq!(spans(&split("a?", "baa")), [(0, 0), (1, 2), (2, 3), (3, 3)]);
    assert_eq!(spans(&split("^a", "aaa")), [(0, 1)]);
    assert_eq!(spans(&split("x|$", "axb")), [(1, 2), (3, 3)]);
}

#[test]
fn characters_are_bytes() {
    assert_eq!(full("(.)", "é"), None);
    assert_eq!(full("(..)", "é"), Some(vec![Some((0, 2))]));
    assert_eq!(full("[é]", "é"), None);
    assert_eq!(full("[é]+", "é"), Some(vec![]));
}

#[test]
fn bracket_expressions() {
    assert_eq!(full("[]a]+", "a]"), Some(vec![]));
    assert_eq!(full("[^]a]", "b"), Some(vec![]));
    assert_eq!(full("[a-]+", "-a"), Some(vec![]));
    assert_eq!(full("[[:ALPHA:]_]+", "a_B"), Some(vec![]));
    assert_eq!(full("[[:w:]]+", "a_1"), Some(vec![]));
    assert_eq!(full("[[=a=]]+", "aA"), Some(vec![]));
    assert_eq!(full("[[.hyphen.]]", "-"), Some(vec![]));
    assert_eq!(full("[\\n]+", "\\n"), Some(vec![]));
}

#[test]
fn what_libstdcxx_rejects() {
    for bad in [
        "\\d",
        "\\b",
        "\\]",
        "a{,2}",
        "{",
        "a{2",
        "*a",
        "(a",
        "a)",
        "[a",
        "[[:nope:]]",
        "[z-a]",
        "[a-c-e]",
        "[[.0.]]",
        "a{3,2}",
        "\\",
    ] {
        assert!(
            Regex::new(bad.as_bytes()).is_err(),
            "{bad:?} should be rejected"
        );
    }
    for good in [
        "\\.", "\\{", "a{2}", "a{2,}", "a{2,3}", "]", "}", "a**", "()", "a|", "|",
    ] {
        assert!(
            Regex::new(good.as_bytes()).is_ok(),
            "{good:?} should compile"
        );
    }
}

#[test]
fn counted_repetitions() {
    assert_eq!(full("a{2}", "aa"), Some(vec![]));
    assert_eq!(full("a{2}", "aaa"), None);
    assert_eq!(full("(a){1,3}", "aaa"), Some(vec![Some((2, 3))]));
    assert_eq!(full("(a){2,}", "aaaa"), Some(vec![Some((3, 4))]));
    assert_eq!(
        Regex::new(b"(a{1000}){1000}").err(),
        Some(super::RegexError::TooLarge)
    );
}

#[test]
fn long_inputs_do_not_overflow_the_stack() {
    let text = "a".repeat(1_000_000);
    assert_eq!(full("(.*)", &text), Some(vec![Some((0, text.len()))]));
    assert_eq!(spans(&split("a+", &text)), [(0, text.len())]);
}

/// Patterns as big as libstdc++ takes (its 100,000 states) compile without
/// overflowing the stack: one frame per term and per nested group aborted the
/// process. Nix 2.8 matches both ("a" gives every one of the 20,000 groups "a").
#[test]
fn long_and_deeply_nested_patterns_compile() {
    let long = "a".repeat(99_990);
    assert_eq!(full(&long, &long), Some(vec![]));
    let nested = format!("{}a{}", "(".repeat(20_000), ")".repeat(20_000));
    assert_eq!(full(&nested, "a"), Some(vec![Some((0, 1)); 20_000]));
    let too_big = format!("{}a{}", "(".repeat(49_000), ")".repeat(49_000));
    assert_eq!(
        Regex::new(too_big.as_bytes()).err(),
        Some(super::RegexError::TooLarge)
    );
}
