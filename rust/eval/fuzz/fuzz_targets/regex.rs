//! Feeds arbitrary bytes to the regular expression engine of `builtins.match` and
//! `builtins.split`: the first byte says where the pattern ends and the text starts.
//! Any outcome is fine except a panic, an abort or a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nixspot_eval::regex::Regex;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let (pattern, text) = rest.split_at(usize::from(cut).min(rest.len()));
    // Depth-first matching is exponential in the text length, in the number of nested
    // repetitions and in the alternatives inside them, as in Nix (`match ".***x"
    // "uuuuuuu"` takes seconds in both); short texts, few quantifiers and few
    // alternatives keep every run fast without hiding a code path.
    let count = |set: &[u8]| pattern.iter().filter(|b| set.contains(b)).count();
    if pattern.len() > 64
        || text.len() > 4
        || count(b"*+?{") > 3
        || count(b"|") > 3
        || has_big_count(pattern)
    {
        return;
    }
    if let Ok(regex) = Regex::new(pattern) {
        let _ = regex.full_match(text);
        for found in regex.split(text) {
            assert!(found.start <= found.end && found.end <= text.len());
            for (a, b) in found.groups.into_iter().flatten() {
                assert!(a <= b && b <= text.len());
            }
        }
    }
});

/// True when a repetition count (`{m}`, `{m,n}`) is over 3: `(E*?){220}` is 220
/// nested choices.
fn has_big_count(pattern: &[u8]) -> bool {
    pattern
        .split(|&b| b == b'{')
        .skip(1)
        .any(|after| {
            let counts = after.split(|&b| b == b'}').next().unwrap_or_default();
            counts
                .split(|&b| b == b',')
                .any(|n| n.len() > 1 || n.first().is_some_and(|d| d.is_ascii_digit() && *d > b'3'))
        })
}
