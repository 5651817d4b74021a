//! Differential test of `builtins.match` / `builtins.split` against real Nix: thousands
//! of generated patterns (alternation, groups, every quantifier, brackets, anchors) on
//! generated texts, evaluated by `nix-instantiate` and by nixspot-eval; the outputs must
//! be byte-identical. Patterns nest groups one level deep and texts stay short, so
//! libstdc++'s exponential backtracking stays fast. Fails (never skips) without Nix.

mod against_nix;

use std::io::Write as _;

/// A seeded generator, so every run checks the same cases.
struct Rng(fastrand::Rng);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0.usize(..n)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const ATOMS: &[&str] = &[
    "a",
    "b",
    "a",
    "b",
    ".",
    "[ab]",
    "[^a]",
    "[[:alpha:]]",
    "\\.",
];
const QUANTIFIERS: &[&str] = &["*", "+", "?", "{0,1}", "{1,2}", "{2}", "{0,}", "{1,}"];

fn piece(r: &mut Rng, in_group: bool) -> String {
    let roll = r.below(10);
    let atom = if roll < 1 {
        return r.pick(&["^", "$"]).to_string();
    } else if roll < 3 && !in_group {
        format!("({})", alternation(r, true))
    } else {
        r.pick(ATOMS).to_string()
    };
    if r.below(2) == 0 {
        atom
    } else {
        atom + r.pick(QUANTIFIERS)
    }
}

fn alternation(r: &mut Rng, in_group: bool) -> String {
    let sides = if r.below(10) < 6 { 1 } else { 2 + r.below(2) };
    (0..sides)
        .map(|_| {
            let min = usize::from(!in_group);
            (0..min + r.below(4 - min))
                .map(|_| piece(r, in_group))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("|")
}

fn nix_string(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('$', "\\$");
    format!("\"{escaped}\"")
}

/// The test file: `[ [ pattern text (match) (split) ] … ]`.
fn cases(count: usize) -> String {
    let mut r = Rng(fastrand::Rng::with_seed(0x9e37_79b9_7f4a_7c15));
    let mut out = String::from("[\n");
    for _ in 0..count {
        let pattern = nix_string(&alternation(&mut r, false));
        let text: String = (0..r.below(7))
            .map(|_| r.pick(&["a", "b", "c", "."]))
            .collect();
        let text = nix_string(&text);
        out.push_str(&format!(
            "  [ {pattern} {text} (builtins.match {pattern} {text}) (builtins.split {pattern} {text}) ]\n"
        ));
    }
    out.push(']');
    out
}

#[test]
fn generated_patterns_match_and_split_like_nix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("regex-cases.nix");
    std::fs::write(&file, cases(10_000)).expect("writing the cases");

    let nix_out = against_nix::nix_json(&file);
    let ours = against_nix::nixspot_json(&file);
    if ours != nix_out {
        let mut report = std::io::stderr().lock();
        for (_, n, o) in against_nix::differences(&nix_out, &ours).iter().take(10) {
            let _ = writeln!(report, "nix:     {n}\nnixspot: {o}\n");
        }
        panic!("nixspot's match/split differ from Nix's (first differences above)");
    }
}
